"""The Quest Board: inbox → queue → processing → done / failed, recorded in the store.

```
quests/inbox/            (+ inbox/high|normal|low/)   dropped files; scan() picks them up
quests/queue/<priority>/                              validated quests; next_quest() serves them
quests/done/                                          trained quests
quests/failed/                                        rejected or given-up quests, originals, reports
```

A quest's state (`inbox|queued|processing|done|failed|cancelled`), attempts and reasons live in
the store (`store.quests`). Order: high, normal, low, then oldest first. A quest that fails in
battle is queued again at low priority up to `QuestPolicy.max_retries` times, then stays in
`failed/` with every reason. A battle stopped by the player (or a signal) `release()`s its quest:
queued again at its priority, the attempt not counted. A quest whose file cannot be trained on
(edited since intake: `next_sound_quest()` serves only the bytes intake validated, and validates
an edited file again at every level; or the trainer's fatal bad input naming it) is failed for
good, never retried. Files still being written are left alone:
temp names, dotfiles, and files whose size or mtime changed between two looks. Odd names (not
UTF-8, very long) are moved under a safe form of themselves (`intake`).

The board writes the store, so it lives in the store's single writer (the UI/battle process or
one CLI command). The UI calls `scan()` periodically; nothing needs a restart.
"""

from __future__ import annotations

import contextlib
import functools
import os
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Concatenate, ParamSpec, TypeVar

from realm_tui.confine import confined
from realm_tui.errors import InputError, StoreError
from realm_tui.paths import RealmPaths
from realm_tui.quests.files import clean_stale_temps, is_in_progress, move_unique, sha256_file
from realm_tui.quests.intake import BoardFolders, Intake
from realm_tui.quests.policy import QuestPolicy
from realm_tui.quests.tokens import TokenCounter
from realm_tui.quests.validate import QuestReport
from realm_tui.store import QUEST_PRIORITIES, QuestPriority, QuestRecord, QuestState, Store

Signature = tuple[int, int]
T = TypeVar("T")
P = ParamSpec("P")


def _locked(method: Callable[Concatenate[Board, P], T]) -> Callable[Concatenate[Board, P], T]:
    """One board action at a time (the UI may scan from a worker while the player acts)."""

    @functools.wraps(method)
    def wrapper(self: Board, *args: P.args, **kwargs: P.kwargs) -> T:
        with self._lock:
            return method(self, *args, **kwargs)

    return wrapper


@dataclass
class ScanResult:
    """What one `scan()` did."""

    queued: list[QuestRecord] = field(default_factory=list)
    failed: list[QuestRecord] = field(default_factory=list)
    waiting: list[Path] = field(default_factory=list)
    """Files seen for the first time or still changing: picked up by a later scan."""
    ignored: list[tuple[Path, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    """Files that could not be handled this time (one line each); the scan went on."""

    @property
    def changed(self) -> bool:
        return bool(self.queued or self.failed)


class Board:
    """The quest board of one realm, writing through an open (writer) store."""

    def __init__(
        self,
        realm: RealmPaths,
        store: Store,
        *,
        policy: QuestPolicy | None = None,
        count_tokens: TokenCounter | None = None,
        max_tokens: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.realm = realm
        self.store = store
        self.policy = policy or QuestPolicy()
        self.clock = clock
        self.folders = BoardFolders(realm)
        self.intake = Intake(
            realm, store, policy=self.policy, count_tokens=count_tokens, max_tokens=max_tokens, clock=clock
        )
        self._seen: dict[Path, Signature] = {}
        self._lock = threading.RLock()
        self.folders.ensure()

    # -- intake -----------------------------------------------------------------------------------

    @_locked
    def scan(self) -> ScanResult:
        """Admit every settled file of the inbox (and unknown files dropped into the queue)."""
        result = ScanResult()
        clean_stale_temps(self.folders.all(), self.clock())
        known = {record.path for record in self.store.quests.all()}
        found: list[tuple[float, str, Path, QuestPriority]] = []
        seen_now: dict[Path, Signature] = {}
        for folder, priority, adopt in self._drop_folders():
            for entry in _entries(folder):
                path = Path(entry.path)
                if is_in_progress(entry.name) or (adopt and self.intake.rel(path) in known):
                    continue
                if folder == self.folders.inbox and entry.name in QUEST_PRIORITIES and entry.is_dir():
                    continue
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue  # vanished between listing and looking
                if stat.S_ISDIR(st.st_mode):
                    result.ignored.append((path, "a folder: drop quest files, not folders"))
                    continue
                sig = (st.st_size, st.st_mtime_ns)
                seen_now[path] = sig
                if self._settled(path, sig, st.st_mtime):
                    found.append((st.st_mtime, entry.name, path, priority))
                else:
                    result.waiting.append(path)
        self._seen = seen_now
        for _mtime, _name, path, priority in sorted(found, key=lambda f: (f[0], f[1])):
            self._seen.pop(path, None)  # a new file at this path later is a new file
            self._admit_dropped(path, priority, result)
        return result

    def _drop_folders(self) -> list[tuple[Path, QuestPriority, bool]]:
        folders: list[tuple[Path, QuestPriority, bool]] = [(self.folders.inbox, "normal", False)]
        folders += [(self.folders.inbox_for(p), p, False) for p in QUEST_PRIORITIES]
        folders += [(self.folders.queue(p), p, True) for p in QUEST_PRIORITIES]
        return folders

    def _settled(self, path: Path, sig: Signature, mtime: float) -> bool:
        previous = self._seen.get(path)
        if previous is not None:
            return previous == sig
        settle = self.policy.settle_seconds
        return settle <= 0 or self.clock() - mtime >= settle

    def _admit_dropped(self, path: Path, priority: QuestPriority, result: ScanResult) -> None:
        try:
            st = path.lstat()
            if not stat.S_ISREG(st.st_mode):
                kind = "a link" if stat.S_ISLNK(st.st_mode) else "a special file"
                record = self.intake.reject(path, priority, f"{kind}, not a regular file")
            else:
                record = self.intake.admit(path, priority)
        except StoreError:
            raise
        except FileNotFoundError:
            return  # taken away between two looks: nothing to do
        except Exception as err:  # a malformed quest must never stop the campaign: report, go on
            result.errors.append(f"{path}: could not be admitted: {type(err).__name__}: {err}")
            return
        (result.queued if record.state == "queued" else result.failed).append(record)

    @_locked
    def add_file(self, source: Path, priority: QuestPriority = "normal") -> QuestRecord:
        """Copy a file from anywhere into the queue (validated; the source is only read)."""
        source = Path(source).expanduser()
        return self.intake.admit(source.resolve() if not source.is_symlink() else source, priority, copy=True)

    @_locked
    def admit_generated(self, tmp: Path, priority: QuestPriority, name: str, extra: dict[str, Any]) -> QuestRecord:
        """Admit a file we wrote ourselves (forge, sparring) under its final `name`."""
        return self.intake.admit(tmp, priority, name=name, extra=extra, generated=True)

    # -- serving ----------------------------------------------------------------------------------

    def quests(self, state: QuestState | None = None) -> list[QuestRecord]:
        """Quests in queue order (all of them, or those in `state`)."""
        if state is not None:
            return self.store.quests.by_state(state)
        order = {p: i for i, p in enumerate(QUEST_PRIORITIES)}
        return sorted(self.store.quests.all(), key=lambda q: (order[q.priority], q.created_at))

    def queue_empty(self) -> bool:
        return not self.store.quests.by_state("queued")

    def current(self) -> QuestRecord | None:
        """The quest being fought, if any."""
        found = self.store.quests.by_state("processing")
        return found[0] if found else None

    @_locked
    def next_quest(self) -> QuestRecord | None:
        """The next queued quest (high, normal, low; oldest first) whose file is still there.

        A queued quest whose file has gone is marked failed and skipped.
        """
        for record in self.store.quests.by_state("queued"):
            if (self.realm.root / record.path).is_file():
                return record
            self._update(record, state="failed", reasons=[*record.reasons, f"the file {record.path} is gone"])
        return None

    def path_of(self, record: QuestRecord) -> Path:
        return self.realm.root / record.path

    def find(self, key: str) -> QuestRecord:
        """A quest by id, unique id prefix or file name; InputError when none or several match."""
        exact = self.store.quests.get(key)
        if exact is not None:
            return exact
        records = self.store.quests.all()
        matches = [r for r in records if r.id.startswith(key)] or [
            r for r in records if Path(r.path).name in (key, f"{key}.jsonl")
        ]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise InputError(None, f"no quest {key!r} on the board (see `realm quest list`)")
        raise InputError(None, f"{key!r} matches {len(matches)} quests: {', '.join(r.id for r in matches[:5])}")

    # -- transitions ------------------------------------------------------------------------------

    @_locked
    def mark_processing(self, quest_id: str, *, source_checkpoint: str | None = None) -> QuestRecord:
        """The battle starts fighting this queued quest (one at a time); counts an attempt."""
        record = self._require(quest_id, ("queued",), "start")
        busy = self.current()
        if busy is not None:
            raise InputError(None, f"quest {busy.id} is being fought already; finish or fail it first")
        return self._update(
            record, state="processing", attempts=record.attempts + 1, source_checkpoint=source_checkpoint
        )

    @_locked
    def mark_done(self, quest_id: str, *, report: dict[str, Any] | None = None) -> QuestRecord:
        """The battle finished the quest: its file moves to `done/`."""
        record = self._require(quest_id, ("processing", "queued"), "finish")
        path = self._move(record, self.folders.done)
        info = {**record.report, "battle": report} if report else record.report
        return self._update(record, state="done", path=path, report=info)

    @_locked
    def mark_failed(self, quest_id: str, reason: str, *, final: bool = False) -> QuestRecord:
        """The battle failed on this quest: queued again at low priority, or failed for good.

        `final`: the quest itself is unusable (retrying would only end another battle)."""
        record = self._require(quest_id, ("processing", "queued"), "fail")
        attempts = record.attempts + (record.state == "queued")
        reasons = [*record.reasons, f"attempt {attempts}: {_one_line(reason)}"]
        if not final and attempts <= self.policy.max_retries:
            path = self._move(record, self.folders.queue("low"))
            return self._update(record, state="queued", priority="low", attempts=attempts, reasons=reasons, path=path)
        if final:
            reasons.append("not retried: the quest file cannot be trained on (fix it, then `realm quest retry`)")
        else:
            reasons.append(f"gave up after {attempts} attempt(s)")
        path = self._move(record, self.folders.failed)
        return self._update(record, state="failed", attempts=attempts, reasons=reasons, path=path)

    @_locked
    def release(self, quest_id: str) -> QuestRecord:
        """The battle stopped before finishing this quest through no fault of the quest (the player
        stopped it, a signal, a full disk): queued again at its priority, the attempt not counted."""
        record = self._require(quest_id, ("processing",), "release")
        return self._update(record, state="queued", attempts=max(record.attempts - 1, 0))

    @_locked
    def next_sound_quest(self) -> QuestRecord | None:
        """`next_quest()`, served only as the bytes that were validated.

        The queued file is the copy intake validated, and its SHA-256 is in the record: a file
        with those bytes is served as is. One edited since (by hand, in the queue) is validated
        again at every level, and served only when every line passes as written; otherwise it is
        failed for good, with a report next to the file, and the next one is taken."""
        while (record := self.next_quest()) is not None:
            path = self.path_of(record)
            try:
                if record.report.get("sha256") == sha256_file(path):
                    return record
                report = self.intake.validate(path)
            except InputError as err:
                self.mark_failed(record.id, f"unusable since intake: {err.problem}", final=True)
                continue
            except OSError as err:
                self.mark_failed(record.id, f"unusable since intake: {err.strerror or err}", final=True)
                continue
            if report.ok and not report.changed:
                digest = sha256_file(path)
                return self._update(record, report={**record.report, "sha256": digest})
            failed = self.mark_failed(record.id, f"unusable since intake: {_what_is_wrong(report)}", final=True)
            report_file = self.intake.rel(self.intake.write_report(self.path_of(failed), report))
            self._update(failed, report={**failed.report, "report_file": report_file})
        return None

    @_locked
    def requeue_interrupted(self) -> list[QuestRecord]:
        """Quests left `processing` by a battle that died: queued again (or failed past retries).

        Call it when a battle starts, before `next_quest()`: the store has one writer, so any
        quest still marked processing then was abandoned.
        """
        out = []
        for record in self.store.quests.by_state("processing"):
            reason = "interrupted: the battle ended without finishing it"
            if record.attempts <= self.policy.max_retries:
                reasons = [*record.reasons, f"attempt {record.attempts}: {reason}"]
                out.append(self._update(record, state="queued", reasons=reasons))
            else:
                out.append(self.mark_failed(record.id, reason))
        return out

    @_locked
    def retry(self, quest_id: str, priority: QuestPriority | None = None) -> QuestRecord:
        """Give a failed or cancelled quest a new start: validated again, attempts reset."""
        record = self._require(quest_id, ("failed", "cancelled"), "retry")
        path = self.path_of(record)
        if not path.exists() and not path.is_symlink():
            raise InputError(path, f"quest {record.id}: the file is gone; nothing to retry")
        record = self._update(record, attempts=0, reasons=[*record.reasons, "retried by hand"])
        generated = any(key in record.report for key in ("forge", "sparring"))  # ours: see Intake.admit
        return self.intake.admit(
            path, priority or record.priority, quest_id=record.id, name=path.name, generated=generated
        )

    @_locked
    def cancel(self, quest_id: str) -> QuestRecord:
        """A queued quest will not be fought: its file moves to `failed/`, state cancelled."""
        record = self._require(quest_id, ("queued",), "cancel")
        path = self._move(record, self.folders.failed)
        return self._update(record, state="cancelled", path=path, reasons=[*record.reasons, "cancelled by hand"])

    @_locked
    def prioritize(self, quest_id: str, priority: QuestPriority) -> QuestRecord:
        """Move a queued quest to another priority."""
        record = self._require(quest_id, ("queued",), "reprioritize")
        path = self._move(record, self.folders.queue(priority))
        return self._update(record, priority=priority, path=path)

    # -- helpers ----------------------------------------------------------------------------------

    def _require(self, quest_id: str, states: tuple[QuestState, ...], verb: str) -> QuestRecord:
        record = self.find(quest_id)
        if record.state not in states:
            raise InputError(
                None, f"cannot {verb} quest {record.id}: it is {record.state} (only {' or '.join(states)})"
            )
        return record

    def _move(self, record: QuestRecord, folder: Path) -> str:
        """Move the quest's file into `folder`; the new relative path (unchanged if it is gone).

        Only a file the board owns moves: one inside `quests/`. A record's path is stored data (a
        skills-only battle's record has none, `--quest` names a file of the player's); moving
        whatever it resolves to once took the whole realm folder into `quests/failed/`."""
        rel = PurePosixPath(record.path)
        try:  # the folder holding it must lie inside quests/ (the entry itself may be a link)
            confined(self.realm.root, rel.parent, within=self.realm.quests, what="quest folder")
        except InputError:
            return record.path
        path = self.path_of(record)
        if rel.name in ("", ".", "..") or not (path.is_symlink() or path.is_file()):
            return record.path
        return self.intake.rel(move_unique(path, folder))

    def _update(self, record: QuestRecord, **fields: Any) -> QuestRecord:
        return self.store.quests.update(record.id, updated_at=self.clock(), **fields)


def board_for(realm: RealmPaths, store: Store, hero: Any | None = None) -> Board:
    """A board with the realm's policy (`configs/quests.yaml`) and, given a hero (HeroConfig),
    its token limit (`training_defaults.max_length`) and a token counter that suits it."""
    from realm_tui.quests.policy import load_quest_policy
    from realm_tui.quests.tokens import counter_for

    max_tokens = hero.training_defaults.max_length if hero is not None else None
    return Board(realm, store, policy=load_quest_policy(realm), count_tokens=counter_for(hero), max_tokens=max_tokens)


def _entries(folder: Path) -> list[os.DirEntry[str]]:
    with contextlib.suppress(OSError), os.scandir(folder) as it:
        return list(it)
    return []


def _what_is_wrong(report: QuestReport) -> str:
    if not report.problems:
        return "no examples (the file is empty)"
    first = report.problems[0]
    return f"{report.problem_count} invalid line(s); first: line {first.line}: {first.reason}"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())[:500]
