"""Admitting one quest file to the board: validate, queue the valid lines, keep the original.

- every line valid: the file itself moves to `queue/<priority>/`;
- some lines invalid (or truncated): the accepted lines are written to `queue/<priority>/` and the
  untouched original moves to `failed/`, next to a `<name>.report.txt` listing file:line: reason;
- no valid line: the file moves to `failed/` with its report, and the quest is `failed`.

Nothing is ever deleted: files are moved (`os.replace`), names that are taken get a suffix.
A name that is not UTF-8 or too long to derive names from is moved under a safe form of itself
(undecodable bytes become U+FFFD, the stem is cut to `files.MAX_STEM_BYTES`): the store records
UTF-8 text only.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from realm_tui.errors import InputError
from realm_tui.paths import RealmPaths
from realm_tui.quests.files import (
    MAX_STEM_BYTES,
    fit_name,
    install_unique,
    move_unique,
    relative,
    reserve,
    safe_name,
    shorten,
    temp_path,
)
from realm_tui.quests.policy import QuestPolicy
from realm_tui.quests.tokens import TokenCounter
from realm_tui.quests.validate import LEVELS, QuestReport, validate_quest_file
from realm_tui.store import QuestPriority, QuestRecord, QuestState, Store

QUEST_SUFFIX = ".jsonl"


@dataclass(frozen=True)
class BoardFolders:
    """The board's folders inside one realm."""

    realm: RealmPaths

    @property
    def inbox(self) -> Path:
        return self.realm.quests / "inbox"

    def inbox_for(self, priority: QuestPriority) -> Path:
        return self.inbox / priority

    def queue(self, priority: QuestPriority) -> Path:
        return self.realm.quests / "queue" / priority

    @property
    def done(self) -> Path:
        return self.realm.quests / "done"

    @property
    def failed(self) -> Path:
        return self.realm.quests / "failed"

    def all(self) -> list[Path]:
        prios: tuple[QuestPriority, ...] = ("high", "normal", "low")
        return [
            self.inbox,
            *(self.inbox_for(p) for p in prios),
            *(self.queue(p) for p in prios),
            self.done,
            self.failed,
        ]

    def ensure(self) -> None:
        for folder in self.all():
            folder.mkdir(parents=True, exist_ok=True)


def slug(name: str) -> str:
    """An id-friendly form of a file name's stem."""
    text = re.sub(r"[^a-z0-9_-]+", "-", Path(name).stem.lower()).strip("-_")
    return text[:48].rstrip("-_") or "quest"


class Intake:
    """Validation and placement of quest files, with the record written last."""

    def __init__(
        self,
        realm: RealmPaths,
        store: Store,
        *,
        policy: QuestPolicy,
        count_tokens: TokenCounter | None,
        max_tokens: int | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.realm = realm
        self.store = store
        self.policy = policy
        self.count_tokens = count_tokens
        self.max_tokens = max_tokens
        self.clock = clock
        self.folders = BoardFolders(realm)

    def rel(self, path: Path) -> str:
        """`path` relative to the realm, as UTF-8 text (what records hold)."""
        return safe_name(relative(self.realm.root, path))

    def new_id(self, name: str) -> str:
        base = slug(name)
        quest_id, n = base, 1
        while quest_id in self.store.quests:
            n += 1
            quest_id = f"{base}-{n}"
        return quest_id

    def validate(self, source: Path, clean_to: Path | None = None) -> QuestReport:
        return validate_quest_file(
            source,
            policy=self.policy,
            count_tokens=self.count_tokens,
            max_tokens=self.max_tokens,
            clean_to=clean_to,
            levels=LEVELS,
        )

    def admit(
        self,
        source: Path,
        priority: QuestPriority,
        *,
        copy: bool = False,
        quest_id: str | None = None,
        name: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> QuestRecord:
        """Validate `source` and queue what is usable (see the module doc).

        `copy` (a file from outside the realm, `realm quest add`): the source is only read, and a
        file with no valid line raises InputError instead of being recorded as failed.
        """
        name = fit_name(safe_name(name or source.name))
        if copy and not name.lower().endswith(QUEST_SUFFIX):
            name = Path(name).stem + QUEST_SUFFIX
        if not copy and not name.lower().endswith(QUEST_SUFFIX):
            reason = f"not a quest: expected a {QUEST_SUFFIX} file"
            return self.reject(source, priority, reason, quest_id, extra, name=name)
        queue = self.folders.queue(priority)
        tmp = temp_path(queue, name)
        try:
            try:
                report = self.validate(source, clean_to=tmp)
            except InputError as err:
                if copy:
                    raise
                return self.reject(source, priority, err.problem, quest_id, extra, name=name)
            if not report.usable:
                if copy:
                    raise InputError(source, "no valid example; nothing was queued\n" + report.summary(limit=10))
                return self.reject(source, priority, rejection_reason(report), quest_id, extra, report, name=name)
            info: dict[str, Any] = {**(extra or {}), "source": self.rel(source)}
            reasons: list[str] = []
            if copy or report.changed:
                if not copy and report.changed:
                    original = move_unique(source, self.folders.failed, name)
                    info["original"] = self.rel(original)
                    info["report_file"] = self.rel(self.write_report(original, report))
                quest_path = install_unique(tmp, queue, name)
                if report.problem_count:
                    kept = f"; the original is in {info['original']}" if "original" in info else ""
                    reasons.append(f"{report.problem_count} invalid line(s) left out{kept}")
            else:
                quest_path = move_unique(source, queue, name)
            info["validation"] = _report_dict(report, self.rel(source))
            return self._save(quest_id, name, quest_path, priority, "queued", reasons, info)
        finally:
            tmp.unlink(missing_ok=True)

    def reject(
        self,
        source: Path,
        priority: QuestPriority,
        reason: str,
        quest_id: str | None = None,
        extra: dict[str, Any] | None = None,
        report: QuestReport | None = None,
        *,
        name: str | None = None,
    ) -> QuestRecord:
        """Move `source` to `failed/` (kept as is, as `name`) and record the quest as failed."""
        kept = move_unique(source, self.folders.failed, fit_name(safe_name(name or source.name)))
        info: dict[str, Any] = {**(extra or {}), "source": self.rel(source)}
        if report is not None:
            info["validation"] = _report_dict(report, self.rel(source))
            info["report_file"] = self.rel(self.write_report(kept, report))
        return self._save(quest_id, kept.name, kept, priority, "failed", [f"rejected: {reason}"], info)

    def write_report(self, original: Path, report: QuestReport) -> Path:
        stem = shorten(Path(original.name).stem, MAX_STEM_BYTES - len(".report"))
        target = reserve(self.folders.failed, f"{stem}.report.txt")
        report = dataclasses.replace(report, path=original)  # file:line points at the kept copy
        lines = [report.summary(limit=report.problem_count or 1)]
        if report.tokens is not None and report.tokens.counted:
            t = report.tokens
            longest = f"longest {t.longest} (line {t.longest_line})"
            lines.append(f"tokens: {t.counted} example(s), mean {t.mean:.0f}, {longest}, limit {t.limit}")
        target.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return target

    def _save(
        self,
        quest_id: str | None,
        name: str,
        path: Path,
        priority: QuestPriority,
        state: QuestState,
        reasons: list[str],
        info: dict[str, Any],
    ) -> QuestRecord:
        existing = self.store.quests.get(quest_id) if quest_id else None
        if existing is None:
            stamp = self.clock()
            record = QuestRecord(
                id=quest_id or self.new_id(name),
                path=self.rel(path),
                priority=priority,
                state=state,
                reasons=reasons,
                report=info,
                created_at=stamp,
                updated_at=stamp,
            )
            return self.store.quests.add(record)
        return self.store.quests.update(
            existing.id,
            path=self.rel(path),
            priority=priority,
            state=state,
            reasons=[*existing.reasons, *reasons],
            report={**existing.report, **info},
            updated_at=self.clock(),
        )


def rejection_reason(report: QuestReport) -> str:
    if not report.problems:
        return "no examples (the file is empty)"
    first = report.problems[0]
    return f"no valid example ({report.problem_count} invalid line(s); first: line {first.line}: {first.reason})"


def _report_dict(report: QuestReport, source: str) -> dict[str, Any]:
    data = report.to_dict()
    data["file"] = source
    return data
