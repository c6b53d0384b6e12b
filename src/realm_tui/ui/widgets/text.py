"""Small text renderers shared by widgets: bars, sparklines, badges."""

from __future__ import annotations

from collections.abc import Sequence

from textual.widgets import Static

SPARKS = "▁▂▃▄▅▆▇█"

ZONE_LABELS = {
    "recovery": "Recovery",
    "productive": "Productive",
    "stretch": "Stretch",
    "overload": "Overload",
}


def bar(fraction: float, width: int, fill: str = "█", empty: str = "░") -> str:
    """A fixed-width progress bar."""
    fraction = min(1.0, max(0.0, fraction if fraction == fraction else 0.0))
    full = int(round(fraction * width))
    return fill * full + empty * (width - full)


def sparkline(values: Sequence[float], width: int = 24, low: float = 0.0, high: float = 1.0) -> str:
    """The last `width` values as block characters scaled between `low` and `high`."""
    if not values:
        return "·" * min(width, 8)
    shown = list(values)[-width:]
    span = (high - low) or 1.0
    out = []
    for v in shown:
        level = (min(high, max(low, v)) - low) / span
        out.append(SPARKS[min(len(SPARKS) - 1, int(level * (len(SPARKS) - 1) + 0.5))])
    return "".join(out)


def zone_label(zone: str | None) -> str:
    return ZONE_LABELS.get(zone or "", "—")


def set_live(widget: Static, markup: str) -> None:
    """Update a fixed-size live field (no re-layout), and only when its text changed.

    Live fields change a few times a second during a battle; a layout pass each time is most of
    what an open UI would cost the trainer on a small machine.
    """
    if getattr(widget, "_live_markup", None) != markup:
        widget._live_markup = markup  # type: ignore[attr-defined]
        widget.update(markup, layout=False)
