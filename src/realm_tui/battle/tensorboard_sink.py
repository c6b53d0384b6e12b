"""TensorBoard event files for every battle: `saves/runs/<campaign>/`, written with tensorboardX.

A sink over the contract's events (`on_event(event)`, `close()`): the records of
`battle.scalars.EventScalars` (training loss, lr, grad norm, tokens/s, the school's metrics,
strain, validation loss, accuracy per skill and level, and the sample answers of each eval as a
markdown table), the same tags as the W&B sink (`battle.wandb_sink`).

Two choices keep the battle safe:
- tensorboardX's writer module imports torch when it is installed, and the parent must not load
  torch (seconds and hundreds of MiB): it is imported with torch hidden, and then only uses numpy.
- tensorboardX's `SummaryWriter` writes from a thread through a bounded queue; if that thread dies
  (a full disk), the next `put` blocks the battle forever. The sink writes records itself with
  tensorboardX's synchronous `EventsWriter`, so a write error is an exception here: one clear line
  in the battle log, the sink turns itself off, the battle goes on.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from realm_tui.battle.scalars import EventScalars, Scalar, samples_markdown
from realm_tui.contract.protocol import CheckpointSaved, EvalResult, Event, Stopped
from realm_tui.paths import RealmPaths

__all__ = ["FLUSH_S", "TensorBoardSink", "load_tensorboardx", "run_dir", "runs_dir", "samples_markdown"]

FLUSH_S = 5.0
"""Least seconds between two flushes to disk (also flushed after each eval, checkpoint and the end)."""

Say = Callable[[str], None]


def runs_dir(realm: RealmPaths) -> Path:
    """Where every campaign's TensorBoard run lives."""
    return realm.saves / "runs"


def run_dir(realm: RealmPaths, campaign_id: str) -> Path:
    """`saves/runs/<campaign>/` (a campaign id is a slug; anything else is replaced, to stay inside)."""
    return runs_dir(realm) / (re.sub(r"[^A-Za-z0-9._-]", "_", campaign_id).lstrip(".") or "campaign")


def load_tensorboardx() -> tuple[Any, Any, Any, Any]:
    """tensorboardX's `EventsWriter`, `Event`, `scalar` and `text`, imported without torch."""
    hide = "torch" not in sys.modules
    if hide:
        sys.modules["torch"] = None  # type: ignore[assignment]  # `import torch` raises ImportError
    try:
        from tensorboardX.event_file_writer import EventsWriter
        from tensorboardX.proto.event_pb2 import Event as TbEvent
        from tensorboardX.summary import scalar, text
    finally:
        if hide and "torch" in sys.modules and sys.modules["torch"] is None:
            del sys.modules["torch"]
    return EventsWriter, TbEvent, scalar, text


class TensorBoardSink:
    """Writes one battle's events into `logdir` (a new event file per battle).

    `say`: where its one-line problems go (the battle log). `strain`: the conductor's latest strain,
    read after each Step (None: not logged)."""

    def __init__(
        self,
        logdir: Path,
        *,
        say: Say,
        strain: Callable[[], float | None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logdir = logdir
        self._say = say
        self._records = EventScalars(strain)
        self._clock = clock
        self._writer: Any = None
        self._flushed_at = clock()
        self.error = ""
        """Why the sink is off ("" while it writes)."""
        try:
            writer_cls, self._event_cls, self._scalar, self._text = load_tensorboardx()
        except ImportError as err:
            self._off(f"TensorBoard logs off: tensorboardX is not installed ({err}); pip install tensorboardX")
            return
        try:
            logdir.mkdir(parents=True, exist_ok=True)
            # Unique per battle: two battles within one second must not share (and truncate) a file.
            suffix = f".{os.getpid()}.{uuid.uuid4().hex[:6]}"
            self._writer = writer_cls(str(logdir / "events"), suffix)
        except OSError as err:
            self._off(f"TensorBoard logs off: cannot write {logdir} ({err.strerror or err}); the battle goes on")

    @property
    def active(self) -> bool:
        return self._writer is not None

    def _off(self, line: str) -> None:
        self.error = line
        self._say(line)
        writer, self._writer = self._writer, None
        if writer is not None:
            with contextlib.suppress(Exception):  # already failing; the line above says so
                writer.close()

    # ------------------------------------------------------------ events

    def on_event(self, event: Event) -> None:
        if self._writer is None:
            return
        try:
            self._write(event)
        except Exception as err:  # a full disk, a removed folder: say it once, stop writing
            self._off(f"TensorBoard logs stopped: writing {self.logdir} failed ({err}); the battle goes on")

    def _write(self, event: Event) -> None:
        for record in self._records.of(event):
            if isinstance(record, Scalar):
                summary = self._scalar(record.tag, record.value)
            else:
                summary = self._text(record.tag, record.markdown)
            self._emit(summary, record.step, record.at)
        if isinstance(event, EvalResult | CheckpointSaved | Stopped):
            self.flush()  # after each eval, checkpoint and the end
        elif self._clock() - self._flushed_at >= FLUSH_S:
            self.flush()

    def _emit(self, summary: Any, step: int, at: float) -> None:
        self._writer.write_event(self._event_cls(summary=summary, step=step, wall_time=at))

    def flush(self) -> None:
        self._flushed_at = self._clock()
        if self._writer is not None:
            try:
                self._writer.flush()
            except Exception as err:
                self._off(f"TensorBoard logs stopped: writing {self.logdir} failed ({err}); the battle goes on")

    def close(self) -> None:
        writer, self._writer = self._writer, None
        if writer is None:
            return
        try:
            writer.close()
        except Exception as err:
            self.error = f"TensorBoard logs: closing {self.logdir} failed ({err})"
            self._say(self.error)
