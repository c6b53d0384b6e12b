"""Plots of several named series on the same axes (textual-plotext): train and validation loss,
accuracy per skill.

Kept as light as the single-series plots (`widgets.battle.SeriesPlot`): each series is thinned to
`MAX_PLOTTED` points, a redraw happens at most every `interval` seconds (later points wait on a
timer), and a `show` whose series did not change draws nothing — the accuracy plot changes only
when an eval comes, every few dozen steps.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from textual_plotext import PlotextPlot

from realm_tui.ui.widgets.battle import MAX_PLOTTED, thin

Series = tuple[str, tuple[tuple[float, float], ...]]
"""(label, (step, value) points)."""


class MultiSeriesPlot(PlotextPlot):
    """Named line series on one pair of axes, with a legend; redraws at most every `interval` s."""

    MARKERS: dict[str, str] = {}
    """Marker per label (default braille: a thin line)."""

    def __init__(self, title: str, interval: float = 1.0, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.title = title
        self.interval = interval
        self._drawn_at = 0.0
        self._series: tuple[Series, ...] = ()
        self._pending = False
        self.drawn: tuple[str, ...] = ()
        """Labels of the series on the plot now (what a person sees; tests read it)."""

    def show(self, series: Sequence[tuple[str, Sequence[tuple[float, float]]]], force: bool = False) -> None:
        """Plot `series` (a series without points is left out, not drawn empty)."""
        shown = tuple((label, thin(points, MAX_PLOTTED)) for label, points in series if points)
        if shown == self._series and not force:
            return  # nothing new: no redraw
        self._series = shown
        wait = self.interval - (time.monotonic() - self._drawn_at)
        if force or wait <= 0:
            self._draw()
        elif not self._pending:
            self._pending = True  # draw the latest series once the interval is over
            self.set_timer(wait, self._draw)

    def _draw(self) -> None:
        self._pending = False
        self._drawn_at = time.monotonic()
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(self.title)
        plt.xlabel("step")
        self.limits()
        for label, points in self._series:
            xs = [p[0] for p in points]
            ys = [p[1] for p in points]
            plt.plot(xs, ys, marker=self.MARKERS.get(label, "braille"), label=label)
        self.drawn = tuple(label for label, _points in self._series)
        self.refresh()

    def limits(self) -> None:
        """Fixed axis limits, where the plot has any."""


class LossPlot(MultiSeriesPlot):
    """Training loss (every step) and validation loss (at the evals' and checkpoints' cadence)."""

    MARKERS = {"train": "braille", "val": "dot"}


class AccuracyPlot(MultiSeriesPlot):
    """Accuracy per skill at its training level, 0 to 1."""

    def limits(self) -> None:
        self.plt.ylim(0, 1)
