"""The Battle screen's plots hand plotext at most MAX_PLOTTED points: run means, last point kept."""

from __future__ import annotations

import pytest

from realm_tui.ui.widgets.battle import MAX_PLOTTED, thin


def test_short_series_pass_through_unchanged() -> None:
    points = [(float(i), float(i * i)) for i in range(MAX_PLOTTED)]
    assert thin(points, MAX_PLOTTED) == tuple(points)


@pytest.mark.parametrize("n", [MAX_PLOTTED + 1, 599, 600, 10_001])
def test_long_series_are_thinned_to_the_limit_keeping_the_last_point(n: int) -> None:
    points = [(float(i), 2.0 * i + 1.0) for i in range(n)]
    out = thin(points, MAX_PLOTTED)
    assert len(out) <= MAX_PLOTTED
    assert out[-1] == points[-1], "the newest step is what the player watches"
    assert [x for x, _ in out] == sorted(x for x, _ in out)
    # a run mean of a straight line lies on the line
    assert all(y == pytest.approx(2.0 * x + 1.0) for x, y in out)
    assert out[0][0] < n / MAX_PLOTTED + 1, "the first run starts at the first point"
