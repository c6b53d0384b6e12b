"""The Battle screen's widgets: loss and strain plots (textual-plotext), readouts, the log."""

from __future__ import annotations

import time
from collections.abc import Sequence

from rich.markup import escape as rich_escape
from textual.widgets import RichLog
from textual_plotext import PlotextPlot

from realm_tui.battle.school_metrics import format_metrics
from realm_tui.rules.strain import PRODUCTIVE_BELOW, RECOVERY_BELOW, STRETCH_BELOW
from realm_tui.ui.literal import escape
from realm_tui.ui.lore_text import LoreStatic
from realm_tui.ui.models import BattleSnapshot, LogLine, StepPoint, format_clock, format_duration, format_loss
from realm_tui.ui.widgets.text import set_live, zone_label

MAX_PLOTTED = 200
"""Points handed to plotext per series: a plot is at most ~100 columns (200 braille dots) wide, and
plotext's cost grows with the points, on the same two cores the trainer uses."""


def thin(points: Sequence[tuple[float, float]], limit: int) -> tuple[tuple[float, float], ...]:
    """At most `limit` points: means over equal runs of consecutive points (the last one kept as is)."""
    if len(points) <= limit:
        return tuple(points)
    size = -(-(len(points) - 1) // (limit - 1))  # ceil: runs of `size` points become one
    out: list[tuple[float, float]] = []
    for i in range(0, len(points) - 1, size):
        run = points[i : min(i + size, len(points) - 1)]
        out.append((sum(p[0] for p in run) / len(run), sum(p[1] for p in run) / len(run)))
    out.append((points[-1][0], points[-1][1]))
    return tuple(out)


class ThrottledPlot(PlotextPlot):
    """A titled plot over steps that redraws at most every `interval` seconds: a draw asked for
    sooner waits on one timer and then draws the latest data (`plot_data`)."""

    def __init__(self, title: str, interval: float = 1.0, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.title = title
        self.interval = interval
        self._drawn_at = 0.0
        self._pending = False

    def request_draw(self, force: bool = False) -> None:
        wait = self.interval - (time.monotonic() - self._drawn_at)
        if force or wait <= 0:
            self._draw()
        elif not self._pending:
            self._pending = True  # draw the latest data once the interval is over
            self.set_timer(wait, self._draw)

    def _draw(self) -> None:
        self._pending = False
        self._drawn_at = time.monotonic()
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(self.title)
        plt.xlabel("step")
        self.plot_data()
        self.refresh()

    def plot_data(self) -> None:
        """Hand the data to `self.plt` (the figure is cleared, titled and labelled already)."""


class SeriesPlot(ThrottledPlot):
    """A line plot of (step, value) points; redraws at most every `interval` seconds."""

    def __init__(self, title: str, interval: float = 1.0, **kwargs: object) -> None:
        super().__init__(title, interval, **kwargs)
        self._points: tuple[tuple[float, float], ...] = ()

    def show(self, points: Sequence[tuple[float, float]], force: bool = False) -> None:
        self._points = thin(points, MAX_PLOTTED)
        self.request_draw(force)

    def plot_data(self) -> None:
        if self._points:
            xs = [p[0] for p in self._points]
            ys = [p[1] for p in self._points]
            self.plt.plot(xs, ys, marker="braille")
            self.decorate(xs)

    def decorate(self, xs: list[float]) -> None:
        """Extra lines (zone thresholds …) after the series is drawn."""


class StrainPlot(SeriesPlot):
    """Strain with the zone thresholds (recovery < 0.1 ≤ productive < 0.3 ≤ stretch < 0.5 ≤ overload)."""

    def decorate(self, xs: list[float]) -> None:
        for y in (RECOVERY_BELOW, PRODUCTIVE_BELOW, STRETCH_BELOW):
            self.plt.hline(y)


def loss_points(history: Sequence[StepPoint]) -> list[tuple[float, float]]:
    return [(p.step, p.loss) for p in history if p.loss == p.loss]


def strain_points(history: Sequence[StepPoint]) -> list[tuple[float, float]]:
    return [(p.step, p.strain) for p in history if p.strain == p.strain]


STARTING = (
    "step [b]—[/]   lr —   grad-norm —   — tok/s   ETA [b]—[/]\n"
    "loss [b]—[/]   ema —   val —\n"
    "strain — (—)   effort —   hint [dim]the trainer is starting[/]"
)
"""The readouts before the battle's first step: the three lines of a live battle, no figures yet."""


class Readouts(LoreStatic):
    """Learning rate, grad norm, speed, ETA, losses, strain, effort, the curriculum hint and, when the
    school reports any (DPO, distillation, the oracle enhancer), its metrics on a fourth line."""

    DEFAULT_CSS = """
    Readouts { height: 5; padding: 0 1; }
    """
    _lines = 0

    def show(self, snapshot: BattleSnapshot | None, busy: bool) -> None:
        if snapshot is None and busy:
            # The live readouts' shape while the trainer starts: the panel grows to it now, not at
            # the first step, where a layout pass (and every plot redrawn at its new size) took
            # ~0.1 s of CPU from the trainer's first seconds of training.
            self._show(STARTING)
            return
        if snapshot is None:
            self._show("[dim]No battle this session. Press [b]s[/] to start one; the plots show the ledger.[/]")
            return
        s = snapshot
        eta = format_duration(s.eta_s) if busy else "—"
        part = f" · {s.step_part}" if busy and s.step_part else ""  # a long step's micro-batches
        self._show(
            f"step [b]{s.step}[/]/{s.max_steps}{part}   lr [b]{s.lr:.2e}[/]   grad-norm [b]{s.grad_norm:.3f}[/]   "
            f"[b]{s.tokens_per_s:,.0f}[/] tok/s   ETA [b]{eta}[/]\n"
            f"loss [b]{format_loss(s.loss)}[/]   ema {format_loss(s.loss_ema)}   val {format_loss(s.val_loss)}\n"
            f"strain {format_loss(s.strain)} ({zone_label(s.zone)})   effort {s.effort:.2f}   "
            f"hint [b]{s.hint.replace('_', ' ')}[/]"
            + (f"\nschool [b]{escape(format_metrics(s.metrics, sep='   '))}[/]" if s.metrics else "")
        )

    def _show(self, markup: str) -> None:
        """A live update; a layout pass only when the number of lines changes (the panel grows)."""
        set_live(self, markup)
        lines = markup.count("\n") + 1
        if lines != self._lines:
            self._lines = lines
            self.refresh(layout=True)


LOG_STYLES = {
    "event": "",
    "eval": "cyan",
    "checkpoint": "green",
    "level": "bold yellow",
    "error": "bold red",
    "note": "magenta",
}
"""Rich styles (RichLog parses Rich markup, not Textual's)."""


class BattleLog(RichLog):
    """The battle log: events, evals, checkpoints, level-ups and errors, newest at the bottom."""

    DEFAULT_CSS = """
    BattleLog { height: 1fr; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(markup=True, wrap=True, min_width=20, max_lines=1000, auto_scroll=True, **kwargs)  # type: ignore[arg-type]
        self._shown: dict[tuple[str, str, float], None] = {}
        """The lines written so far (kind, text, time), oldest first, as many as the log keeps."""

    def add(self, line: LogLine) -> None:
        # A line can come twice: a screen's refresh shows the game's log, which holds a line the
        # app has appended but whose own message is still on its way (a notification at a save).
        key = (line.kind, line.text, line.at)
        if key in self._shown:
            return
        self._shown[key] = None
        if len(self._shown) > 1000:
            del self._shown[next(iter(self._shown))]
        style = LOG_STYLES.get(line.kind, "")
        text = rich_escape(line.text)
        body = f"[{style}]{text}[/]" if style else text
        self.write(f"[dim]{format_clock(line.at)}[/] {body}")

    def show_all(self, lines: Sequence[LogLine]) -> None:
        self.clear()
        self._shown.clear()
        for line in lines:
            self.add(line)
