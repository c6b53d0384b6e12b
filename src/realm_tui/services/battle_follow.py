"""Follow a battle another process runs, by reading its event log (`battle.event_log`).

A game that opened the store read-only (a headless battle holds it) asks :meth:`BattleFollower.poll`
a few times a second, off the UI thread, for the records written since the last call. The follower
finds the log through its pointer file, reads from the start of the battle (so the plots fill with
what happened before the window opened), keeps a half-written last line for the next read, moves
to the next part when the log rolls over, and, when the writing process is gone without an
`ended` line (killed), says so with an `ended` record of its own (`lost: true`).

:func:`steer` sends pause/resume/stop to that battle through the realm's request path
(`services.requests`, which the battle's parent applies); where this version has none, it says so.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
from pathlib import Path

from realm_tui.battle.event_log import Record, complete_lines, pointer_writer, read_pointer
from realm_tui.errors import RealmError
from realm_tui.paths import RealmPaths

NOT_YET = "steering a battle from another window is not available yet"
STEER_WAIT_S = 5.0
"""How long a pause/resume/stop waits for the battle's parent to acknowledge it."""
READ_MAX = 1 << 20
"""Bytes read per poll at most (a long log is caught up over a few polls, the UI fed meanwhile)."""


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    except OSError:
        return False
    return True


def _decode(chunk: bytes) -> tuple[str, int]:
    """`chunk` as text and the bytes used: a character cut in half at the end waits for the next read."""
    try:
        return chunk.decode("utf-8"), len(chunk)
    except UnicodeDecodeError as err:
        if err.start >= len(chunk) - 3 and err.reason == "unexpected end of data":
            return chunk[: err.start].decode("utf-8", errors="replace"), err.start
        return chunk.decode("utf-8", errors="replace"), len(chunk)


class BattleFollower:
    """The records of the battle being written now, a batch per :meth:`poll`."""

    def __init__(self, realm: RealmPaths) -> None:
        self.realm = realm
        self.file: Path | None = None
        self._offset = 0
        self._rest = ""
        self._writer: int | None = None
        self._done: set[Path] = set()
        self.skipped = 0
        """Lines that were not JSON objects (a damaged log): skipped, counted."""

    def _switch(self, file: Path | None) -> None:
        self.file, self._offset, self._rest, self._writer = file, 0, "", None

    def poll(self) -> list[Record]:
        """What was written since the last poll (empty while no battle writes a log)."""
        if self.file is None:
            pointed = read_pointer(self.realm)
            if pointed is None or pointed in self._done:
                return []
            writer = pointer_writer(self.realm)
            if writer is not None and not pid_alive(writer):
                self._done.add(pointed)  # left by a battle killed long ago: nothing to follow
                return []
            self._switch(pointed)
        records = self._read()
        if records:
            return records
        # Nothing new here: has the log rolled over to a next part, or its writer died?
        pointed = read_pointer(self.realm)
        if pointed is not None and pointed != self.file and pointed not in self._done:
            self._switch(pointed)
            return self._read()
        if self._writer is not None and not pid_alive(self._writer):
            assert self.file is not None
            self._done.add(self.file)
            self._switch(None)
            return [{"kind": "ended", "good": False, "reason": "the battle's process is gone", "lost": True}]
        return []

    def _read(self) -> list[Record]:
        assert self.file is not None
        try:
            with open(self.file, "rb") as f:
                f.seek(self._offset)
                chunk = f.read(READ_MAX)
        except OSError:
            self._switch(None)  # pruned or never written: look for the pointer again
            return []
        text, used = _decode(chunk)
        self._offset += used
        lines, self._rest = complete_lines(self._rest, text)
        records: list[Record] = []
        for line in lines:
            with contextlib.suppress(ValueError):
                record = json.loads(line)
                if isinstance(record, dict) and "kind" in record:
                    records.append(record)
                    continue
            self.skipped += 1
        for record in records:
            if record["kind"] == "entered" and isinstance(record.get("pid"), int):
                self._writer = record["pid"]
            elif record["kind"] == "ended":
                self._done.add(self.file)
        if records and records[-1]["kind"] == "ended":
            self._switch(None)
        return records


def steer(realm: RealmPaths, verb: str, wait_s: float = STEER_WAIT_S) -> str:
    """Ask the battle's parent to `verb` (`battle.pause`, `battle.resume`, `battle.stop`); its answer.

    Raises `RealmError` when this realm has no request path yet, or the request failed."""
    try:
        requests = importlib.import_module("realm_tui.services.requests")
    except ImportError as err:
        raise RealmError(NOT_YET) from err
    result = requests.submit(realm, verb, {}, wait_s=wait_s)
    if not result.ok:  # refused by the battle (not paused, already stopping …): say why
        raise RealmError(f"{verb}: {result.error or 'refused'}")
    return next((text for kind, text in result.lines if kind == "out"), f"{verb} sent")
