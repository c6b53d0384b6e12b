"""The battle's event log: what a game in another window follows (issue 15, point 3).

`EventLogSink` is a `BattleSession` sink that both faces add: it writes one JSON object per line
into `saves/battles/<campaign>-<time>.jsonl` and names the file being written in
`saves/battles/current.json` (replaced atomically). Each line is appended and flushed at once, so
a follower may read a half-written last line: :func:`complete_lines` keeps it for the next read.

Lines carry a `kind`:
- `entered`: hero, campaign, quest, the step the battle starts from and its last step;
- `event`: a trainer event (`contract.event_json`) with the conductor's reading after it (loss
  EMA, strain, zone, ETA, the hero's stats — a follower has no conductor of its own) and the
  notifications it raised;
- `phase`, `said`, `sent` (an `Evaluate` asked for), `ended`.

Bounded: a file that grows past `max_bytes` is continued in a new part (its first line repeats
`entered`, with `part` counted up), and only the newest `keep_files` files stay in the folder —
at most `keep_files × max_bytes` on disk (24 MiB by default) however long the battles run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import json
import math
import os
import time
import typing
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from realm_tui.contract.event_json import event_to_dict
from realm_tui.contract.protocol import (
    EVENT_TYPES,
    CheckpointSaved,
    EvalResult,
    Evaluate,
    Event,
    Step,
    Stopped,
)
from realm_tui.paths import RealmPaths
from realm_tui.rules.answers import SHOWN_PER_EVAL, pick_results

if TYPE_CHECKING:
    from realm_tui.battle.conductor import Conductor
    from realm_tui.battle.session import SessionEvent

Record = dict[str, Any]

MAX_BYTES = 4 * 1024 * 1024
"""One part's size before the log moves on to the next (a Step line is ~0.6 kB: ~7000 steps)."""
KEEP_FILES = 6
"""Battle log files kept in saves/battles/ (the oldest go first)."""
STATS_EVERY_S = 2.0
"""The hero's stats read the store: written with a Step at most this often (and at every save)."""
POINTER = "current.json"


def battles_dir(realm: RealmPaths) -> Path:
    return realm.saves / "battles"


def pointer_path(realm: RealmPaths) -> Path:
    return battles_dir(realm) / POINTER


def read_pointer(realm: RealmPaths) -> Path | None:
    """The log file of the battle being written now; None when no battle writes one."""
    try:
        data = json.loads(pointer_path(realm).read_text(encoding="utf-8"))
        name = str(data["file"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if "/" in name or "\\" in name or not name.endswith(".jsonl"):
        return None  # the pointer names a file in this folder, nothing else
    return battles_dir(realm) / name


def pointer_writer(realm: RealmPaths) -> int | None:
    """The process that wrote the pointer (None when it does not say)."""
    try:
        pid = json.loads(pointer_path(realm).read_text(encoding="utf-8")).get("pid")
    except (OSError, ValueError, AttributeError):
        return None
    return pid if isinstance(pid, int) else None


def _write_pointer(realm: RealmPaths, file: Path) -> None:
    tmp = pointer_path(realm).with_suffix(".tmp")
    tmp.write_text(json.dumps({"file": file.name, "pid": os.getpid(), "at": time.time()}), encoding="utf-8")
    os.replace(tmp, pointer_path(realm))


def complete_lines(buffer: str, chunk: str) -> tuple[list[str], str]:
    """The whole lines of `buffer + chunk`, and the unfinished rest (a line still being written)."""
    text = buffer + chunk
    head, sep, rest = text.rpartition("\n")
    if not sep:
        return [], text
    return [line for line in head.split("\n") if line.strip()], rest


# ---------------------------------------------------------------- trainer events back from JSON


def _field_value(hint: Any, value: Any) -> Any:
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint(value)
    if isinstance(value, str) and "float" in str(hint) and value.lower() in ("nan", "inf", "-inf"):
        return float(value)  # event_json writes non-finite floats as strings
    if isinstance(value, list):
        return tuple(value)
    return value


_TYPES = {t.__name__: t for t in EVENT_TYPES}


def event_from_dict(data: Record) -> Event | None:
    """The trainer event `event_json.event_to_dict` wrote; None for one this version does not know."""
    cls = _TYPES.get(str(data.get("event")))
    if cls is None:
        return None
    hints = typing.get_type_hints(cls)
    kwargs = {f.name: _field_value(hints[f.name], data[f.name]) for f in dataclasses.fields(cls) if f.name in data}
    try:
        event: Event = cls(**kwargs)
    except (TypeError, ValueError):
        return None
    return event


# ---------------------------------------------------------------- the sink


def _finite(value: float | None) -> float | None:
    return value if value is None or math.isfinite(value) else None


class EventLogSink:
    """The battle's events as JSON lines under saves/battles/, for a game in another window."""

    def __init__(
        self,
        realm: RealmPaths,
        *,
        say: Callable[[str], None] = lambda _t: None,
        max_bytes: int = MAX_BYTES,
        keep_files: int = KEEP_FILES,
    ) -> None:
        self.realm, self._say = realm, say
        self.max_bytes, self.keep_files = max_bytes, keep_files
        self.file: Path | None = None
        self._out: IO[str] | None = None
        self._entered: Record | None = None
        self._part = 0
        self._conductor: Conductor | None = None
        self._stats_at = 0.0

    # ------------------------------------------------------------ files

    def _open(self, entered: Record) -> None:
        folder = battles_dir(self.realm)
        folder.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        name = f"{entered['campaign_id']}-{stamp}-{os.getpid()}-{self._part}.jsonl"
        self.file = folder / name
        self._out = open(self.file, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()/_roll
        self._write({**entered, "part": self._part})
        _write_pointer(self.realm, self.file)
        self._prune()

    def _prune(self) -> None:
        logs = sorted(battles_dir(self.realm).glob("*.jsonl"), key=lambda p: p.stat().st_mtime)
        for old in logs[: max(0, len(logs) - self.keep_files)]:
            if old != self.file:
                with contextlib.suppress(OSError):
                    old.unlink()

    def _write(self, record: Record) -> None:
        if self._out is None:
            return
        self._out.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._out.flush()  # a follower reads it now, not at the next buffer's end
        if self._out.tell() > self.max_bytes and self._entered is not None and record.get("kind") != "ended":
            self._out.close()
            self._part += 1
            self._open(self._entered)

    # ------------------------------------------------------------ the session's sink

    def on_event(self, event: SessionEvent) -> None:
        from realm_tui.battle import session as s

        if isinstance(event, s.Entered):
            self.close()
            self._conductor, self._part = event.conductor, 0
            plan = event.plan
            self._entered = {
                "kind": "entered",
                "hero_id": plan.hero.id,
                "hero_name": plan.hero.name,
                "campaign_id": plan.campaign.id,
                "quest_id": plan.quest_id,
                "start_step": event.start_step,
                "max_steps": plan.job.max_steps,
                "pid": os.getpid(),
                "at": time.time(),
            }
            self._open(self._entered)
        elif isinstance(event, s.Applied):
            self._applied(event.event, event.notes)
        elif isinstance(event, s.PhaseChanged):
            self._write({"kind": "phase", "phase": event.phase.value, "detail": event.detail})
        elif isinstance(event, s.Said):
            self._write({"kind": "said", "text": event.text, "say_kind": event.kind})
        elif isinstance(event, s.Sent) and isinstance(event.command, Evaluate):
            c = event.command
            self._write({"kind": "sent", "skill": c.skill, "level": c.level, "request_id": c.request_id})
        elif isinstance(event, s.Ended):
            stopped = event.stopped
            reason = str(stopped.reason) if stopped is not None else None
            step = stopped.step if stopped is not None else None
            self._write({"kind": "ended", "good": event.good, "reason": reason, "step": step})
            self.close()

    def _applied(self, event: Event, notes: tuple[Any, ...]) -> None:
        data = event_to_dict(event)
        if isinstance(event, EvalResult):
            # Every answer of the eval: the store has them, the log keeps only the few a follower shows.
            data["results"] = [dict(r) for r in pick_results(event.results, SHOWN_PER_EVAL)]
        record: Record = {"kind": "event", "event": data}
        if isinstance(event, Step | CheckpointSaved | Stopped) and self._conductor is not None:
            record["state"] = self._state(force=not isinstance(event, Step))
        if notes:
            record["notes"] = [
                {"kind": str(n.kind), "title": n.title, "body": n.body, "severity": str(n.severity)} for n in notes
            ]
        self._write(record)

    def _state(self, force: bool) -> Record:
        conductor = self._conductor
        assert conductor is not None
        st = conductor.state
        state: Record = {
            "step": st.step,
            "max_steps": st.max_steps,
            "loss": _finite(st.loss),
            "loss_ema": _finite(st.loss_ema),
            "val_loss": _finite(st.val_loss),
            "lr": st.lr,
            "grad_norm": _finite(st.grad_norm),
            "tokens_per_s": st.tokens_per_s,
            "eta_s": st.eta_s,
            "strain": _finite(st.strain.strain),
            "zone": st.zone,
            "effort": st.strain.effort,
            "hint": st.hint,
            "device": st.device,
            "trainer_pid": st.trainer_pid,
            "last_checkpoint": st.last_checkpoint,
        }
        now = time.monotonic()
        if force or now - self._stats_at >= STATS_EVERY_S:
            self._stats_at = now
            try:
                state["stats"] = dataclasses.asdict(conductor.stats())
            except Exception as err:  # the log never stops a battle
                self._say(f"the battle log could not read the hero's stats: {err}")
        return state

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None
            with contextlib.suppress(OSError):
                pointer = read_pointer(self.realm)
                if pointer == self.file:
                    pointer_path(self.realm).unlink()
