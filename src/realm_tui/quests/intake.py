"""Admitting one quest file to the board: validate, queue the validated copy, keep the original.

Validation writes the accepted lines to a temp file of ours as it judges them; that copy, and only
that copy, is what the queue serves. So a line added to the dropped file after it was taken in (a
writer still holding it open) can never reach training: it lands in the original, never in the
queue.

- every line valid: the copy goes to `queue/<priority>/`; the original is removed only when it is
  byte for byte the copy (unchanged since it was read), otherwise it is kept in `failed/`;
- some lines invalid (or truncated), no more than `QuestPolicy.max_invalid_share` of them: the
  accepted lines are queued and the untouched original moves to `failed/`, next to a
  `<name>.report.txt` listing file:line: reason;
- more invalid lines than that share, or no valid line: the file moves to `failed/` with its
  report, and the quest is `failed` (junk never trains quietly).

Nothing dropped is lost: its bytes live on in the queue (identical copy) or in `failed/`. Files are
moved (`os.replace`), names that are taken get a suffix.
A name that is not UTF-8 or too long to derive names from is moved under a safe form of itself
(undecodable bytes become U+FFFD, the stem is cut to `files.MAX_STEM_BYTES`): the store records
UTF-8 text only.
"""

from __future__ import annotations

import dataclasses
import filecmp
import os
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
    fsync_file,
    install_unique,
    move_unique,
    relative,
    reserve,
    safe_name,
    sha256_file,
    shorten,
    temp_path,
)
from realm_tui.quests.policy import QuestPolicy
from realm_tui.quests.tokens import TokenCounter
from realm_tui.quests.validate import LEVELS, QuestReport, problem_text, validate_quest_file
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
        generated: bool = False,
    ) -> QuestRecord:
        """Validate `source` and queue what is usable (see the module doc).

        `copy` (a file from outside the realm, `realm quest add`): the source is only read, and a
        file with no valid line raises InputError instead of being recorded as failed.
        `generated` (a file we wrote: forge, sparring): not held to `max_invalid_share`; its
        invalid lines are examples that do not fit (a sparring answer too long for the hero),
        not junk, and the rest is worth training.
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
            before = (0, 0, 0) if copy else _signature(source)  # a copy's source is only read
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
            junk = None if generated else too_much_junk(report, self.policy)
            if junk is not None:
                if copy:
                    raise InputError(source, f"{junk}; nothing was queued\n" + report.summary(limit=10))
                return self.reject(source, priority, junk, quest_id, extra, report, name=name)
            info: dict[str, Any] = {**(extra or {}), "source": self.rel(source)}
            reasons: list[str] = []
            # The queue serves the copy validation wrote: exactly the bytes that were judged.
            if copy:
                quest_path = install_unique(tmp, queue, name)
            elif not report.changed and _same_bytes(source, before, tmp):
                quest_path = self._replace_original(source, tmp, queue, name, before, info, reasons)
            else:
                original = move_unique(source, self.folders.failed, name)
                info["original"] = self.rel(original)
                if report.changed:
                    info["report_file"] = self.rel(self.write_report(original, report))
                else:
                    reasons.append(_changed_note(info["original"]))
                quest_path = install_unique(tmp, queue, name)
            if report.problem_count:
                kept = f"; the original is in {info['original']}" if "original" in info else ""
                reasons.append(f"{report.problem_count} invalid line(s) left out{kept}")
            info["validation"] = _report_dict(report, self.rel(source))
            info["sha256"] = sha256_file(quest_path)  # the bytes validated: checked again before serving
            return self._save(quest_id, name, quest_path, priority, "queued", reasons, info)
        finally:
            tmp.unlink(missing_ok=True)

    def _replace_original(
        self,
        source: Path,
        tmp: Path,
        queue: Path,
        name: str,
        before: tuple[int, int, int],
        info: dict[str, Any],
        reasons: list[str],
    ) -> Path:
        """Queue the copy in place of an original that holds exactly its bytes; returns its path.

        A file already in the queue under its name is swapped for the copy atomically. One in the
        inbox goes away once the copy is queued, unless it changed in between (then it is kept in
        failed/, and what was read then is what trains)."""
        if source.parent == queue and source.name == name:
            fsync_file(tmp)
            os.replace(tmp, source)
            return source
        quest_path = install_unique(tmp, queue, name)
        try:
            if _signature(source) == before:
                source.unlink()
                return quest_path
        except FileNotFoundError:
            return quest_path
        original = move_unique(source, self.folders.failed, name)
        info["original"] = self.rel(original)
        reasons.append(_changed_note(info["original"]))
        return quest_path

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
        head, *_ = report.summary(limit=0).splitlines()
        lines = [head, *(f"  {problem_text(original, p.line, p.reason, p.level)}" for p in report.problems)]
        if report.omitted_problems:
            lines.append(f"  … and {report.omitted_problems} more")
        if report.truncated_lines:
            lines.append(f"  {len(report.truncated_lines)} example(s) truncated to fit the token limit")
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


def too_much_junk(report: QuestReport, policy: QuestPolicy) -> str | None:
    """Why a quest with some valid lines is still refused: more invalid lines than the policy's
    `max_invalid_share` (a file that is mostly junk is the wrong file, not a quest to trim)."""
    bad = report.problem_count
    total = bad + len(report.valid_lines)
    if not total or bad <= policy.max_invalid_share * total:
        return None
    first = report.problems[0] if report.problems else None
    where = f"; first: line {first.line}: {first.reason}" if first is not None else ""
    return (
        f"{bad} of {total} lines invalid ({100 * bad / total:.0f} %, more than the "
        f"{100 * policy.max_invalid_share:g} % allowed by max_invalid_share in configs/quests.yaml){where}"
    )


def _signature(path: Path) -> tuple[int, int, int]:
    """Size, mtime and inode: what tells that a file changed (or was swapped) since it was read."""
    st = os.lstat(path)
    return st.st_size, st.st_mtime_ns, st.st_ino


def _same_bytes(source: Path, before: tuple[int, int, int], copy: Path) -> bool:
    """The dropped file did not change since it was read and holds exactly the copy's bytes."""
    try:
        if _signature(source) != before or copy.stat().st_size != before[0]:
            return False
        return filecmp.cmp(source, copy, shallow=False) and _signature(source) == before
    except OSError:
        return False


def _changed_note(original: str) -> str:
    return f"the file changed while it was taken in; only the lines read then were queued (the file now: {original})"


def rejection_reason(report: QuestReport) -> str:
    if not report.problems:
        return "no examples (the file is empty)"
    first = report.problems[0]
    return f"no valid example ({report.problem_count} invalid line(s); first: line {first.line}: {first.reason})"


def _report_dict(report: QuestReport, source: str) -> dict[str, Any]:
    data = report.to_dict()
    data["file"] = source
    return data
