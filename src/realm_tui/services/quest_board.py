"""The Quest Board screen's actions: a thin adapter over `realm_tui.quests.board.Board`.

Every action the screen offers is one method here, named for what the player does; the board
(inbox → queue → processing → done | failed, recorded in `store.quests`) does the work. Its
InputErrors become `BoardRefusal`s with the board's own words.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from realm_tui.errors import RealmError
from realm_tui.paths import RealmPaths
from realm_tui.quests.board import Board, board_for
from realm_tui.quests.validate import problem_text
from realm_tui.store import QUEST_PRIORITIES, QuestPriority, QuestRecord, QuestState, Store

DONE_SHOWN = 10


class BoardRefusal(Exception):
    """An action the board will not do, with a reason for the player."""


@dataclass(frozen=True)
class QuestEntry:
    """One quest as the board lists it."""

    id: str
    path: Path
    state: QuestState
    priority: QuestPriority
    size_bytes: int
    examples: int | None
    attempts: int = 0
    reasons: tuple[str, ...] = ()
    rejected: tuple[str, ...] = ()
    """Every line validation left out, as `file:line: reason [level]` (what `realm quest validate` prints)."""


@dataclass(frozen=True)
class BoardSummary:
    entries: tuple[QuestEntry, ...]
    counts: dict[str, int] = field(default_factory=dict)
    """Queued quests per priority, plus inbox / failed / done."""
    sizes: dict[str, int] = field(default_factory=dict)
    """Bytes queued per priority."""


def _examples(report: dict[str, Any]) -> int | None:
    validation = report.get("validation")
    if isinstance(validation, dict) and isinstance(validation.get("valid"), int):
        return int(validation["valid"])
    value = report.get("examples")
    return int(value) if isinstance(value, int) else None


MAX_REPORT_BYTES = 4 * 1024 * 1024
"""A kept report larger than this is not read into the details (it lists every rejected line)."""
_PROBLEM_LINE = re.compile(r"^.+:\d+: .+ \[(schema|content|tokens)\]$")


def rejected_lines(realm: RealmPaths, record: QuestRecord) -> tuple[str, ...]:
    """Every rejected line of a quest, from its report in `failed/` (which lists them all), else from
    the record (the first ones); paths relative to the realm, as the board records them."""
    info = record.report
    report_file = info.get("report_file")
    failed = (realm.quests / "failed").resolve()
    if isinstance(report_file, str):
        path = (realm.root / report_file).resolve()
        try:
            if path.parent == failed and path.stat().st_size <= MAX_REPORT_BYTES:
                text = path.read_text(encoding="utf-8", errors="replace")
                return tuple(
                    _relative(ln.strip(), realm) for ln in text.splitlines() if _PROBLEM_LINE.match(ln.strip())
                )
        except OSError:
            pass  # gone or unreadable: fall back to what the record holds
    validation = info.get("validation")
    problems = validation.get("problems") if isinstance(validation, dict) else None
    if not isinstance(problems, list):
        return ()
    where = info.get("original") or (record.path if record.state in ("failed", "cancelled") else info.get("source"))
    out = []
    for item in problems:
        if isinstance(item, list) and len(item) == 3:
            line, level, reason = item
            out.append(problem_text(where or record.path, int(line), str(reason), str(level)))
    return tuple(out)


def _relative(text: str, realm: RealmPaths) -> str:
    for prefix in (f"{realm.root}/", f"{realm.root.resolve()}/"):
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


ORDER: dict[str, int] = {"processing": 0, "queued": 1, "inbox": 2, "failed": 3, "cancelled": 3, "done": 4}


class QuestBoard:
    """Quest actions: list, add, change priority, cancel, retry, why, and picking up the inbox."""

    def __init__(self, realm: RealmPaths, store: Store, hero: Callable[[], Any | None] = lambda: None) -> None:
        self.realm = realm
        self.store = store
        self._hero = hero
        """The hero whose token limit the board checks quests against (None: no limit)."""
        self._boards: dict[str, Board] = {}

    @property
    def board(self) -> Board:
        """One board per hero, kept: it remembers which inbox files are still being written."""
        hero = self._hero()
        key = getattr(hero, "id", "")
        if key not in self._boards:
            self._boards[key] = board_for(self.realm, self.store, hero)
        return self._boards[key]

    # ------------------------------------------------------------ reading

    def _entry(self, record: QuestRecord) -> QuestEntry:
        path = self.realm.root / record.path
        return QuestEntry(
            id=record.id,
            path=path,
            state=record.state,
            priority=record.priority,
            size_bytes=_size(path),
            examples=_examples(record.report),
            attempts=record.attempts,
            reasons=tuple(record.reasons),
            rejected=rejected_lines(self.realm, record),
        )

    def summary(self, done_shown: int = DONE_SHOWN) -> BoardSummary:
        """Fighting and queued quests in queue order, files waiting in the inbox, failed, latest done."""
        records = self.board.quests()
        done = [r for r in records if r.state == "done"]
        done.sort(key=lambda r: r.updated_at)
        shown = [r for r in records if r.state != "done"] + (done[-done_shown:] if done_shown else [])
        entries = sorted((self._entry(r) for r in shown), key=lambda e: ORDER.get(e.state, 5))
        inbox = self.board.folders.inbox
        waiting = sorted(p for p in inbox.rglob("*.jsonl") if p.is_file()) if inbox.is_dir() else []
        entries += [QuestEntry(p.stem, p, "inbox", "normal", _size(p), None) for p in waiting]
        counts: dict[str, int] = {
            p: sum(1 for r in records if r.state == "queued" and r.priority == p) for p in QUEST_PRIORITIES
        }
        sizes: dict[str, int] = {
            p: sum(e.size_bytes for e in entries if e.state == "queued" and e.priority == p) for p in QUEST_PRIORITIES
        }
        counts["inbox"] = len(waiting)
        counts["failed"] = sum(1 for r in records if r.state in ("failed", "cancelled"))
        counts["done"] = len(done)
        return BoardSummary(tuple(entries), counts, sizes)

    def why(self, quest_id: str) -> list[str]:
        """Why a quest failed (or was cancelled); empty when nothing went wrong."""
        record = self.store.quests.get(quest_id)
        return list(record.reasons) if record else []

    # ------------------------------------------------------------ actions

    def _do(self, action: Callable[[], QuestRecord]) -> QuestEntry:
        try:
            return self._entry(action())
        except RealmError as err:
            raise BoardRefusal(str(err)) from None

    def add(self, source: Path, priority: QuestPriority = "normal") -> QuestEntry:
        """Validate a chat JSONL file and copy it into the queue (the source is only read)."""
        return self._do(lambda: self.board.add_file(Path(source), priority))

    def set_priority(self, quest_id: str, priority: QuestPriority) -> QuestEntry:
        return self._do(lambda: self.board.prioritize(quest_id, priority))

    def shift_priority(self, quest_id: str, by: int) -> QuestEntry:
        """Raise (by < 0) or lower (by > 0) a queued quest's priority one step."""
        record = self.store.quests.get(quest_id)
        if record is None:
            raise BoardRefusal(f"no quest {quest_id!r} on the board")
        index = QUEST_PRIORITIES.index(record.priority) + by
        if not 0 <= index < len(QUEST_PRIORITIES):
            raise BoardRefusal(f"{quest_id} is already at {record.priority} priority")
        return self.set_priority(quest_id, QUEST_PRIORITIES[index])

    def cancel(self, quest_id: str) -> QuestEntry:
        """Take a queued quest off the board; it waits in failed/ for a retry."""
        return self._do(lambda: self.board.cancel(quest_id))

    def retry(self, quest_id: str) -> QuestEntry:
        """Queue a failed or cancelled quest again (validated again; refused while still unusable)."""
        entry = self._do(lambda: self.board.retry(quest_id))
        if entry.state != "queued":
            raise BoardRefusal("still unusable: " + (entry.reasons[-1] if entry.reasons else "see the board"))
        return entry

    def scan_inbox(self) -> list[str]:
        """Pick up settled files from quests/inbox/; one line per quest queued or rejected."""
        result = self.board.scan()
        return [f"{r.id} queued" for r in result.queued] + [f"{r.id} rejected" for r in result.failed]
