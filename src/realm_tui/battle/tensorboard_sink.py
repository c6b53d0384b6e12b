"""TensorBoard event files for every battle: `saves/runs/<campaign>/`, written with tensorboardX.

A sink over the contract's events (`on_event(event)`, `close()`): training loss, lr, grad norm,
tokens/s, the school's metrics, strain (read from the conductor when it is given), validation loss,
accuracy per skill and level, and the sample answers of each eval as a markdown table (wrong ones
first). Steps are the battle's absolute steps, so a campaign's battles continue the same curves.

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
import math
import os
import re
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from realm_tui.contract.protocol import CheckpointSaved, EvalResult, Event, Step, Stopped
from realm_tui.paths import RealmPaths
from realm_tui.rules.answers import pick_results

FLUSH_S = 5.0
"""Least seconds between two flushes to disk (also flushed after each eval, checkpoint and the end)."""
SAMPLES_SHOWN = 8
"""Sample answers per eval in the text panel."""
CELL = 120
"""Longest prompt/answer cell of the sample table (characters)."""

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


def _cell(value: object) -> str:
    text = " ".join(str(value).split()).replace("|", "\\|")
    return text if len(text) <= CELL else text[: CELL - 1] + "…"


def samples_markdown(event: EvalResult, shown: int = SAMPLES_SHOWN) -> str:
    """A few of the eval's answers beside the expected ones, marked right/wrong; wrong ones first."""
    results = pick_results(event.results, shown)  # the rule every face shows its samples by
    lines = [
        f"**{event.skill.upper()} L{event.level}** at step {event.step}: {event.accuracy:.0%} of {event.total}",
        "",
        "| | prompt | expected | got |",
        "|---|---|---|---|",
    ]
    for r in results:
        cells = [_cell(r.get(key, "")) for key in ("prompt", "expected", "got")]
        lines.append(f"| {'✓' if r.get('correct') else '✗'} | {' | '.join(cells)} |")
    return "\n".join(lines)


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
        self._strain = strain
        self._clock = clock
        self._writer: Any = None
        self._flushed_at = clock()
        self._val_steps: set[int] = set()
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
        if isinstance(event, Step):
            self._step(event)
        elif isinstance(event, EvalResult):
            self._eval(event)
        elif isinstance(event, CheckpointSaved):
            if event.val_loss is not None:
                self._val(event.step, event.val_loss, event.at)
            self.flush()
        elif isinstance(event, Stopped):
            self.flush()
        if self._clock() - self._flushed_at >= FLUSH_S:
            self.flush()

    def _step(self, event: Step) -> None:
        at, step = event.at, event.step
        self._add("loss/train", event.loss, step, at)
        self._add("train/lr", event.lr, step, at)
        self._add("train/grad_norm", event.grad_norm, step, at)
        self._add("train/tokens_per_s", event.tokens_per_s, step, at)
        self._add("train/epoch", event.epoch, step, at)
        if event.quest_progress is not None:
            self._add("train/quest_progress", event.quest_progress, step, at)
        for name, value in event.metrics.items():
            self._add(f"school/{name}", value, step, at)
        strain = self._strain() if self._strain is not None else None
        if strain is not None:
            self._add("train/strain", strain, step, at)

    def _eval(self, event: EvalResult) -> None:
        self._add(f"accuracy/{event.skill}/L{event.level}", event.accuracy, event.step, event.at)
        if event.val_loss is not None:
            self._val(event.step, event.val_loss, event.at)
        if event.results:
            tag = f"answers/{event.skill}/L{event.level}"
            self._emit(self._text(tag, samples_markdown(event)), event.step, event.at)
        self.flush()

    def _val(self, step: int, value: float, at: float) -> None:
        if step not in self._val_steps:  # an eval and the checkpoint of the same step carry the same loss
            self._val_steps.add(step)
            self._add("loss/val", value, step, at)

    def _add(self, tag: str, value: float, step: int, at: float) -> None:
        if isinstance(value, int | float) and math.isfinite(value):  # NaN steps are the trainer's to report
            self._emit(self._scalar(tag, float(value)), step, at)

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
