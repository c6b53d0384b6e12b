"""The hardware panel: per GPU utilisation, memory, temperature and power; CPU, RSS and RAM.

It reads `battle.telemetry` off the UI thread (NVML can take a while on a busy driver) every few
seconds, and only while its screen is shown: the Battle panel and the Tavern line share one probe,
whose cache keeps the machine probed at most once per `telemetry.MIN_INTERVAL_S` however many
panels ask.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from textual.widgets import Static

from realm_tui.battle.telemetry import HardwareReport, compact_line, cpu_line, gpu_line
from realm_tui.ui.literal import escape

REFRESH_S = 3.0
"""Seconds between two readings of a shown panel (the probe is cheap; the trainer shares the cores)."""

HardwareReader = Callable[[], HardwareReport]


def panel_markup(report: HardwareReport) -> str:
    """The Battle panel: a line per GPU (name dimmed), or why there is none, then the CPU line."""
    if report.gpus:
        lines = [f"{escape(gpu_line(g))} [dim]{escape(g.name)}[/]" for g in report.gpus]
    elif report.gpu_note.startswith("no GPU"):
        lines = [f"[dim]{escape(report.gpu_note)}[/]"]
    else:  # NVML is there but failing: worth seeing
        lines = [f"[yellow]{escape(report.gpu_note)}[/]"]
    lines.append(escape(cpu_line(report)) + " [dim](realm + trainer)[/]")
    return "\n".join(lines)


class HardwarePanel(Static):
    """The machine's figures, refreshed every `interval` seconds while the screen is current.

    `compact`: one line (the Tavern); otherwise a line per GPU and a CPU line (the Battle screen)."""

    DEFAULT_CSS = """
    HardwarePanel {
        height: auto;
        padding: 0 1;
    }
    HardwarePanel.compact {
        height: 1;
        padding: 0 1;
        color: $text-muted;
    }
    """

    def __init__(self, read: HardwareReader, *, compact: bool = False, interval: float = REFRESH_S, **kwargs: object):
        super().__init__("[dim]reading the machine…[/]", **kwargs)  # type: ignore[arg-type]
        self._read = read
        self.compact = compact
        self.interval = interval
        self.report: HardwareReport | None = None
        self._markup_lines = -1
        if compact:
            self.add_class("compact")

    async def on_mount(self) -> None:
        if not self.compact:
            self.border_title = "Hardware"
        self.set_interval(self.interval, self.refresh_reading)
        await self.refresh_reading(force=True)

    async def refresh_reading(self, force: bool = False) -> None:
        """Read the probe in a thread and show it (skipped while another screen is shown)."""
        if not force and not self.screen.is_current:
            return
        try:
            report = await asyncio.to_thread(self._read)
        except Exception as err:  # telemetry must never take the UI down
            self.update(f"[yellow]hardware telemetry failed: {escape(str(err))}[/]")
            return
        self.show(report)

    def show(self, report: HardwareReport) -> None:
        self.report = report
        if self.compact:
            self.update(f"⚙ {escape(compact_line(report))}", layout=False)
        else:  # a layout pass only when the panel's height changes (a GPU appeared): it is redrawn anyway
            markup = panel_markup(report)
            self.update(markup, layout=markup.count("\n") != self._markup_lines)
            self._markup_lines = markup.count("\n")
