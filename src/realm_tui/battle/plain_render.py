"""Headless output for a pipe or a file (`| tee`, `nohup`, `saves/headless.log`): plain lines only
(the rich renderer's lines and marks, without markup, terminal codes or a bar).

Rich's progress bar draws nothing when stdout is not a terminal, so a battle there looked dead for
minutes. This renderer prints every event the rich one prints, as plain text, plus a progress line
(step, loss, tokens/s, ETA, the current job) on the first step, on the last, at most every
`PROGRESS_EVERY_S` in between, and — from `tick`, which the headless loop calls while it waits —
at least every `HEARTBEAT_S` even when no step arrives (an eval or a checkpoint in flight).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from realm_tui.battle.answer_lines import answer_lines
from realm_tui.battle.school_metrics import format_metrics
from realm_tui.battle.session import Applied, Entered, Planned, Said, SessionEvent, Tick
from realm_tui.battle.val_text import val_text
from realm_tui.contract.protocol import (
    CheckpointProgress,
    CheckpointSaved,
    Error,
    EvalProgress,
    EvalResult,
    Event,
    Hello,
    Log,
    QuestFinished,
    QuestStarted,
    Step,
    StepProgress,
    Stopped,
)
from realm_tui.rules.moments import Moment, moment_of

PROGRESS_EVERY_S = 5.0
"""Progress lines while steps arrive: at most this often."""
HEARTBEAT_S = 8.0
"""A progress line at least this often, steps or not (the issue asks for one every 10 s)."""


class LineSink:
    """A session sink that writes lines (plain, rich or JSON): the session's events become calls
    of `show` (a trainer event and its notifications), `message` (a line of text) and `tick`."""

    def show(self, event: Event, notes: list[str]) -> None:
        raise NotImplementedError

    def message(self, text: str) -> None:
        raise NotImplementedError

    def tick(self) -> None:
        """Called while waiting for events (a heartbeat line where the renderer wants one)."""

    def close(self) -> None:
        raise NotImplementedError

    def moment(self, moment: Moment) -> None:
        """A level-up, a new champion, a mastered level, a maxed-out verdict: a line that stands out."""

    def on_event(self, event: SessionEvent) -> None:
        if isinstance(event, Applied):
            self.show(event.event, [f"{n.title}: {n.body}" for n in event.notes])
            for found in filter(None, map(moment_of, event.notes)):
                self.moment(found)
        elif isinstance(event, Tick):
            self.tick()
        elif isinstance(event, Said):
            self.message(event.text)
        elif isinstance(event, Planned):
            for note in event.plan.notes:  # orphans adopted/removed, damaged checkpoints passed over
                self.message(note)
        elif isinstance(event, Entered):
            plan, where = event.plan, "from the base hero"
            if plan.resumed_from is not None:
                where = f"resuming from {plan.resumed_from.name}"
            self.message(
                f"{plan.hero.name} enters battle: campaign {plan.campaign.id}, quest {plan.quest_id}, "
                f"steps {plan.job.max_steps - event.start_step} ({where})"
            )


def step_part(event: StepProgress) -> str:
    """`3/8` micro-batches (with the tokens when known: `3/8 (2,891/7,702 tokens)`)."""
    tokens = f" ({event.tokens_done:,}/{event.tokens:,} tokens)" if event.tokens_done else ""
    return f"{event.done}/{event.total}{tokens}"


def save_part(event: CheckpointProgress) -> str:
    """`val sy 3/8` (the val pass's micro-batches), `writing optimizer` (a write)."""
    return f"{event.stage} {event.done}/{event.total}" if event.total else event.stage


def format_eta(seconds: float) -> str:
    """`1h02m`, `3m05s`, `42s`; `-` when unknown."""
    if not seconds or seconds != seconds or seconds < 0 or seconds == float("inf"):
        return "-"
    s = int(round(seconds))
    hours, rest = divmod(s, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


class PlainRenderer(LineSink):
    """Plain lines, flushed one by one, for output that is not a terminal."""

    def __init__(self, out: TextIO | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._out = out or sys.stdout
        self._clock = clock
        self._step: Step | None = None
        self._part: StepProgress | None = None
        """The step in flight's micro-batches (a long step), until its Step arrives."""
        self._step_at = clock()
        self._job = self._job_key = "starting the trainer"
        self._job_since = clock()
        self._last_progress = -1e18
        self._last_line = clock()
        self.moments = True
        """Print moments as `*** LEVEL UP: BIN L2 ***` lines (`configs/settings.yaml` can turn them off)."""

    # ------------------------------------------------------------ the current job

    def set_job(self, job: str, key: str | None = None) -> None:
        """What the trainer is doing now (`training`, `eval bin L1 37/100`); `key` names the job
        whose text changes as it goes (the time it has taken counts from a new key)."""
        key = key or job
        if key != self._job_key:
            self._job_key, self._job_since = key, self._clock()
        self._job = job

    # ------------------------------------------------------------ lines

    def _print(self, text: str) -> None:
        print(text, file=self._out, flush=True)
        self._last_line = self._clock()

    def progress_line(self) -> str:
        step = self._step
        since = self._clock() - self._job_since
        job = f"job: {self._job}" + (f" ({since:.0f} s)" if since >= 2 else "")
        if step is None:
            return f"progress: no step yet · {job}"
        parts = [
            f"step {step.step}/{step.max_steps}",
            f"loss {step.loss:.4f}",
            f"{step.tokens_per_s:,.0f} tok/s",
            f"ETA {format_eta(step.eta_s)}",
        ]
        if step.quest_progress is not None:
            parts.append(f"quest {step.quest_progress:.0%}")
        part = self._part
        if part is not None and part.step > step.step:
            parts.append(f"step {part.step} {step_part(part)}")
        quiet = self._clock() - self._step_at
        if quiet >= PROGRESS_EVERY_S:
            parts.append(f"last step {quiet:.0f} s ago")
        metrics = format_metrics(step.metrics)
        if metrics:
            parts.append(metrics)
        return "progress: " + " · ".join(parts) + f" · {job}"

    def _progress(self) -> None:
        self._print(self.progress_line())
        self._last_progress = self._clock()

    def tick(self) -> None:
        """Called while waiting for events: a progress line when nothing was printed for a while."""
        if self._clock() - self._last_line >= HEARTBEAT_S:
            self._progress()

    def show(self, event: Event, notes: list[str]) -> None:
        if isinstance(event, EvalProgress):
            self._on_eval_progress(event)
        elif isinstance(event, CheckpointProgress):  # a save in flight is the job (val pass, writes)
            self.set_job(f"checkpoint {event.step}: {save_part(event)}", f"checkpoint {event.step}")
            if self._clock() - self._last_progress >= PROGRESS_EVERY_S:
                self._progress()
        elif isinstance(event, StepProgress):
            self._part = event
            if self._clock() - self._last_progress >= PROGRESS_EVERY_S:
                self._progress()
        elif isinstance(event, Step):
            first = self._step is None
            self._step, self._step_at = event, self._clock()
            self.set_job("training")
            last = event.step >= event.max_steps
            if first or last or self._clock() - self._last_progress >= PROGRESS_EVERY_S:
                self._progress()
        else:
            line = self._line(event)
            if line:
                self._print(line)
        for note in notes:
            self._print(f"✨ {note}")
        if isinstance(event, EvalResult):  # after the eval's line and what it raised (a level-up)
            for answer in answer_lines(event):  # the hero's own answers, wrong ones first
                self._print(answer)

    def moment(self, moment: Moment) -> None:
        if self.moments:
            self._print(moment.plain_line)

    def _on_eval_progress(self, event: EvalProgress) -> None:
        """An eval in flight is the current job (`eval sy L1 37/100 ETA 12s`), shown at most every
        `PROGRESS_EVERY_S`; one cut short gets a line of its own."""
        if event.cut_short:
            self.set_job("training")
            self._print(f"! eval {event.skill} L{event.level} ended at {event.done}/{event.total} (not counted)")
            return
        eta = f" ETA {format_eta(event.eta_s)}" if event.eta_s is not None else ""
        key = f"eval {event.skill} L{event.level} at {event.step}"
        self.set_job(f"eval {event.skill} L{event.level} {event.done}/{event.total}{eta}", key)
        if self._clock() - self._last_progress >= PROGRESS_EVERY_S:
            self._progress()

    def _line(self, event: Event) -> str | None:
        if isinstance(event, Hello):
            self.set_job("loading the hero")
            return (
                f"trainer pid {event.pid} · torch {event.torch_version} · {event.device} · "
                f"{event.precision} · {event.parameters:,} parameters"
            )
        if isinstance(event, QuestStarted):
            return f"⚔  quest {event.quest_id}: {event.examples:,} examples, {event.tokens:,} tokens"
        if isinstance(event, CheckpointSaved):
            self.set_job("training")
            val = val_text(event)
            train = f"loss {event.train_loss:.4f}" if event.train_loss is not None else ""
            return f"💾 {event.name} at step {event.step} ({train}{val}, {event.size_bytes / 2**20:.1f} MiB)"
        if isinstance(event, EvalResult):
            self.set_job("training")
            retest = " (re-test)" if event.request_id == "retest" else ""
            return f"🎯 eval {event.skill} L{event.level}: {event.accuracy:.0%} of {event.total}{retest}"
        if isinstance(event, QuestFinished):
            return f"🏁 quest {event.quest_id} finished after {event.steps} steps"
        if isinstance(event, Error):
            if self._job_key.startswith("checkpoint"):  # the save failed (a full disk): it is over
                self.set_job("training")
            return f"{'✖' if event.fatal else '!'} {event.message}"
        if isinstance(event, Log) and event.level != "debug":
            return f"warning: {event.message}" if event.level in ("warning", "error") else event.message
        if isinstance(event, Stopped):
            self.set_job("stopped")
            where = f" at step {event.step}" if event.step >= 0 else ""
            return f"■ battle stopped{where} ({event.reason})"
        return None

    def message(self, text: str) -> None:
        self._print(text)

    def close(self) -> None:
        self._out.flush()
