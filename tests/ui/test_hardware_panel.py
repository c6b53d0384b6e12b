"""The hardware panel on the Battle screen and its line on the Tavern, over this machine's real
probe (no GPU here: "no GPU" and real CPU figures) and over a pinned machine with a GPU."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from ui_testkit import fixed_hardware
from uiwait import wait_for

from realm_tui.battle.telemetry import HardwareProbe, HardwareReport
from realm_tui.ui.app import RealmApp
from realm_tui.ui.widgets.hardware import HardwarePanel

pytestmark = pytest.mark.anyio


def _text(app: RealmApp, selector: str) -> str:
    return str(app.screen.query_one(selector, HardwarePanel).render())


async def test_battle_panel_shows_cpu_figures_and_no_gpu_here(make_app: Callable[..., RealmApp]) -> None:
    probe = HardwareProbe()
    if probe.read().gpus:
        pytest.skip("this machine has a GPU")
    app = make_app(read_hardware=probe.read)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2")
        panel = app.screen.query_one("#hardware", HardwarePanel)
        await wait_for(pilot, lambda: panel.report is not None, what="a first reading")
        text = _text(app, "#hardware")
        assert "no GPU" in text
        assert "CPU " in text and "RSS " in text and "RAM " in text
        report = panel.report
        assert report is not None and report.rss_bytes > 0 and report.ram_total_bytes > 0
        assert f"of {report.cpu_count}" in text
        await pilot.press("1")
        line = app.screen.query_one("#tavern-hardware", HardwarePanel)
        await wait_for(pilot, lambda: line.report is not None, what="the Tavern line")
        assert _text(app, "#tavern-hardware").startswith("⚙ no GPU · CPU ")


async def test_gpu_lines_and_a_failing_nvml(make_app: Callable[..., RealmApp]) -> None:
    """The pinned machine (conftest: one fake GPU) shows its figures; a failing NVML shows its line.

    The machine's reading turns to a failing NVML and stays so: the panel's own refresh (every few
    seconds, in a thread) cannot put the GPU back between the change and the check."""
    pinned = fixed_hardware()
    failing = HardwareReport(**{**pinned.__dict__, "gpus": (), "gpu_note": "GPU telemetry off: NVML failed (x)"})
    readings = [pinned]
    app = make_app(read_hardware=lambda: readings[-1])
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2")
        panel = app.screen.query_one("#hardware", HardwarePanel)
        await wait_for(pilot, lambda: panel.report is not None, what="a first reading")
        assert "GPU0 87% · 12.0/24.0 GiB · 71°C · 250 W" in _text(app, "#hardware")
        readings.append(failing)
        await panel.refresh_reading()
        await wait_for(
            pilot, lambda: "GPU telemetry off: NVML failed (x)" in _text(app, "#hardware"), what="the NVML line"
        )
        assert "GPU0" not in _text(app, "#hardware")


async def test_a_hidden_panel_does_not_probe(make_app: Callable[..., RealmApp]) -> None:
    calls: list[int] = []
    probe = HardwareProbe(None, min_interval_s=0)

    def counted() -> HardwareReport:
        calls.append(1)
        return probe.read()

    app = make_app(read_hardware=counted)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2")
        panel = app.screen.query_one("#hardware", HardwarePanel)
        await wait_for(pilot, lambda: panel.report is not None, what="a first reading")
        await pilot.press("3")  # the Quest Board hides both panels
        await pilot.pause()
        before = len(calls)
        await panel.refresh_reading()
        assert len(calls) == before
