"""Headless session sinks: a rich progress display for people, JSON lines for scripts (plain lines
for a pipe are `battle.plain_render`)."""

from __future__ import annotations

import json
import sys
import time
from typing import TextIO

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from realm_tui.battle.answer_lines import answer_records, judged_lines
from realm_tui.battle.plain_render import LineSink, save_part, step_part
from realm_tui.battle.school_metrics import format_metrics
from realm_tui.battle.val_text import val_text
from realm_tui.contract.event_json import event_to_json
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
from realm_tui.rules.moments import Moment


class JsonRenderer(LineSink):
    """One JSON object per line on stdout; notifications as `{"event": "Notification"}` lines."""

    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out or sys.stdout

    def show(self, event: Event, notes: list[str]) -> None:
        print(event_to_json(event), file=self._out, flush=True)
        for note in notes:
            print(f'{{"event": "Notification", "text": {_quote(note)}}}', file=self._out, flush=True)
        if isinstance(event, EvalResult):  # the hero's own answers, one line each, wrong ones first
            for record in answer_records(event):
                print(_dumps(record), file=self._out, flush=True)

    def message(self, text: str) -> None:
        print(f'{{"event": "Message", "text": {_quote(text)}}}', file=self._out, flush=True)

    def close(self) -> None:
        self._out.flush()


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _dumps(record: dict[str, object]) -> str:
    return json.dumps(record, ensure_ascii=False)


PLAIN_EVAL_LINE_S = 5.0
"""Least seconds between two eval-progress lines when the output is not a terminal."""


class RichRenderer(LineSink):
    """A progress bar (step, loss, tokens/s, ETA, the school's metrics when it reports any) with a
    line per checkpoint and notification."""

    def __init__(self, console: Console | None = None, *, bell: bool = True, moments: bool = True) -> None:
        self.console = console or Console(stderr=False)
        self.bell = bell
        """Ring the terminal bell at a moment (`configs/settings.yaml`: `bell: false` silences it)."""
        self.moments = moments
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("step {task.completed:>6.0f}/{task.total:.0f}"),
            TextColumn("loss {task.fields[loss]}"),
            TextColumn("{task.fields[speed]} tok/s"),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[school]}"),
            console=self.console,
            transient=False,
        )
        self._task: TaskID | None = None
        self._started = False
        self._eval_line_at = 0.0
        self._step_label = False

    def _ensure(self, total: int, start: int) -> TaskID:
        if self._task is None:
            self._progress.start()
            self._started = True
            self._task = self._progress.add_task("battle", total=total, completed=start, loss="-", speed="-", school="")
        return self._task

    def show(self, event: Event, notes: list[str]) -> None:
        print_line = self._progress.console.print
        if isinstance(event, Hello):
            print_line(
                f"[dim]trainer pid {event.pid} · torch {event.torch_version} · {event.device} · "
                f"{event.precision} · {event.parameters:,} parameters[/]"
            )
        elif isinstance(event, QuestStarted):
            print_line(f"⚔  quest [b]{event.quest_id}[/]: {event.examples:,} examples, {event.tokens:,} tokens")
        elif isinstance(event, StepProgress):
            if self._task is not None:  # the bar names the long step's micro-batches until its Step
                self._step_label = True
                self._progress.update(self._task, description=f"battle · step {event.step} {step_part(event)}")
        elif isinstance(event, CheckpointProgress):
            if self._task is not None:  # the bar names the save in flight until its CheckpointSaved
                self._step_label = True
                self._progress.update(self._task, description=f"checkpoint {event.step} · {save_part(event)}")
        elif isinstance(event, Step):
            task = self._ensure(event.max_steps, event.step)
            self._unlabel()
            self._progress.update(
                task,
                completed=event.step,
                total=event.max_steps,
                loss=f"{event.loss:.4f}",
                speed=f"{event.tokens_per_s:,.0f}",
                school=escape(format_metrics(event.metrics)),
            )
        elif isinstance(event, CheckpointSaved):
            self._unlabel()
            val = val_text(event)
            train = f"loss {event.train_loss:.4f}" if event.train_loss is not None else ""
            print_line(f"💾 {event.name} ({train}{val}, {event.size_bytes / 2**20:.1f} MiB)")
        elif isinstance(event, EvalProgress):
            self._eval_progress(event)
        elif isinstance(event, EvalResult):
            self._eval_progress(None)
            retest = " (re-test)" if event.request_id == "retest" else ""
            print_line(f"🎯 eval {event.skill} L{event.level}: {event.accuracy:.0%} of {event.total}{retest}")
        elif isinstance(event, QuestFinished):
            print_line(f"🏁 quest {event.quest_id} finished after {event.steps} steps")
        elif isinstance(event, Error):
            self._unlabel()  # a save that failed no longer names the bar
            style = "bold red" if event.fatal else "yellow"
            print_line(f"[{style}]{'✖' if event.fatal else '!'} {event.message}[/]")
        elif isinstance(event, Log) and event.level != "debug":
            style = "yellow" if event.level in ("warning", "error") else "dim"  # a warning must be seen
            print_line(f"[{style}]{event.message}[/]")
        elif isinstance(event, Stopped):
            where = f" at step {event.step}" if event.step >= 0 else ""
            print_line(f"■ battle stopped{where} ({event.reason})")
        for note in notes:
            print_line(f"✨ [bold magenta]{note}[/]")
        if isinstance(event, EvalResult):  # after the eval's line and what it raised (a level-up)
            for right, line in judged_lines(event):  # the hero's own answers, wrong ones first
                print_line(f"[{'green' if right else 'red'}]{escape(line)}[/]")

    def _unlabel(self) -> None:
        """The bar says `battle` again after a long step's or a save's label."""
        if self._step_label and self._task is not None:
            self._step_label = False
            self._progress.update(self._task, description="battle")

    def moment(self, moment: Moment) -> None:
        """A banner line in reverse video (and the bell), above the bar."""
        if not self.moments:
            return
        console = self._progress.console
        console.print(f"[bold reverse magenta] ★ {escape(moment.headline)} ★ [/] {escape(moment.detail)}")
        if self.bell and console.is_terminal:
            console.bell()

    def _eval_progress(self, event: EvalProgress | None) -> None:
        """An eval in flight names itself in the bar (`eval SY L1 37/100 ~12 s`); the bar says
        `battle` again when it ends. A cut-short eval gets a line."""
        if event is not None and event.cut_short:
            self._progress.console.print(
                f"[yellow]eval {event.skill} L{event.level} ended at {event.done}/{event.total} (not counted)[/]"
            )
        if event is not None and not event.cut_short and not self.console.is_terminal:
            # No bar is drawn into a pipe or a log file: a plain line, at most every few seconds.
            now = time.monotonic()
            if now - self._eval_line_at >= PLAIN_EVAL_LINE_S:
                self._eval_line_at = now
                eta = f", ETA {event.eta_s:.0f} s" if event.eta_s is not None else ""
                self.console.print(f"eval {event.skill} L{event.level}: {event.done}/{event.total} problems{eta}")
        if self._task is None:
            return
        label = "battle"
        if event is not None and not event.cut_short:
            eta = f" ~{event.eta_s:.0f} s" if event.eta_s is not None else ""
            label = f"eval {event.skill} L{event.level} {event.done}/{event.total}{eta}"
        self._progress.update(self._task, description=label)

    def message(self, text: str) -> None:
        self._progress.console.print(text)

    def close(self) -> None:
        if self._started:
            self._progress.stop()
