"""Plots of several named series on the same axes (textual-plotext): train and validation loss,
accuracy per skill.

Kept as light as the single-series plots (`widgets.battle.SeriesPlot`): each series is thinned to
`MAX_PLOTTED` points, a redraw happens at most every `interval` seconds (later points wait on a
timer), and a `show` whose series did not change draws nothing — the accuracy plot changes only
when an eval comes, every few dozen steps.
"""

from __future__ import annotations

from collections.abc import Sequence

from realm_tui.ui.widgets.battle import MAX_PLOTTED, ThrottledPlot, thin

Series = tuple[str, tuple[tuple[float, float], ...]]
"""(label, (step, value) points)."""


class MultiSeriesPlot(ThrottledPlot):
    """Named line series on one pair of axes, with a legend; redraws at most every `interval` s."""

    MARKERS: dict[str, str] = {}
    """Marker per label (default braille: a thin line)."""

    def __init__(self, title: str, interval: float = 1.0, **kwargs: object) -> None:
        super().__init__(title, interval, **kwargs)
        self._series: tuple[Series, ...] = ()
        self.drawn: tuple[str, ...] = ()
        """Labels of the series on the plot now (what a person sees; tests read it)."""

    def show(self, series: Sequence[tuple[str, Sequence[tuple[float, float]]]], force: bool = False) -> None:
        """Plot `series` (a series without points is left out, not drawn empty)."""
        shown = tuple((label, thin(points, MAX_PLOTTED)) for label, points in series if points)
        if shown == self._series and not force:
            return  # nothing new: no redraw
        self._series = shown
        self.request_draw(force)

    def plot_data(self) -> None:
        self.limits()
        for label, points in self._series:
            xs = [p[0] for p in points]
            ys = [p[1] for p in points]
            self.plt.plot(xs, ys, marker=self.MARKERS.get(label, "braille"), label=label)
        self.drawn = tuple(label for label, _points in self._series)

    def limits(self) -> None:
        """Fixed axis limits, where the plot has any."""


class LossPlot(MultiSeriesPlot):
    """Training loss (every step) and validation loss (at the evals' and checkpoints' cadence)."""

    MARKERS = {"train": "braille", "val": "dot"}


class AccuracyPlot(MultiSeriesPlot):
    """Accuracy per skill at its training level, 0 to 1."""

    def limits(self) -> None:
        self.plt.ylim(0, 1)
