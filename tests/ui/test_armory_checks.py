"""The Armory's side panels tell the truth: no made-up VRAM figure for an invalid form, and the knob
check the battle runs on this machine ("will be refused here") before anything is saved."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable

import pytest
from textual.widgets import Input, Select, Static
from uiwait import wait_for

from realm_tui.armory.knobs import Environment
from realm_tui.services.armory import estimate_vram
from realm_tui.ui.app import RealmApp
from realm_tui.ui.screens.armory import ArmoryScreen

pytestmark = pytest.mark.anyio

CPU_ONLY = Environment(bnb_installed=True, galore_installed=True, muon_available=True, device_name="cpu")
"""A machine without a GPU (stands in for the subprocess probe so the test does not depend on the box)."""


def _text(screen: ArmoryScreen, box: str) -> str:
    return str(screen.query_one(f"#armory-{box}", Static).render())


async def _open(app: RealmApp, pilot: object) -> ArmoryScreen:
    await pilot.press("7")  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]
    screen = app.screen
    assert isinstance(screen, ArmoryScreen)
    return screen


async def test_invalid_form_shows_no_estimate(make_app: Callable[..., RealmApp]) -> None:
    app = make_app(estimate_vram=estimate_vram)  # the real calculator
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open(app, pilot)
        await wait_for(pilot, lambda: "in CPU RAM" in _text(screen, "vram"), what="the estimate")
        length = screen.query_one("#armory-max_length", Input)
        length.value = "2048"  # dio-nano under cpu_tiny allows 1024
        await wait_for(pilot, lambda: "no estimate" in _text(screen, "vram"), what="no estimate")
        vram = _text(screen, "vram")
        assert "GiB" not in vram and "placeholder" not in vram
        assert "max_length: 2048" in _text(screen, "problems")
        length.value = "128"
        await wait_for(pilot, lambda: "in CPU RAM" in _text(screen, "vram"), what="estimate back")
        length.value = "lots"  # not a number: no estimate either
        await wait_for(pilot, lambda: "no estimate" in _text(screen, "vram"), what="no estimate for text")


async def test_settings_this_machine_refuses_are_flagged(make_app: Callable[..., RealmApp]) -> None:
    probes: list[int] = []

    def probe() -> Environment:
        probes.append(1)
        return CPU_ONLY

    app = make_app(probe_environment=probe)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open(app, pilot)
        await wait_for(pilot, lambda: "current settings" in _text(screen, "problems"), what="checked")
        assert "refused" not in _text(screen, "problems") and not probes  # cpu_tiny + adamw: nothing to probe
        screen.query_one("#armory-batch_size", Input).value = "1"
        screen.query_one("#armory-profile", Select).value = "24gb_qlora"
        await wait_for(pilot, lambda: "will be refused here" in _text(screen, "problems"), what="qlora refused")
        check = _text(screen, "problems")
        assert "bitsandbytes with CUDA" in check and "flash_attention_2" in check and "✓ valid" not in check
        screen.query_one("#armory-profile", Select).value = "24gb_full_small"
        await wait_for(pilot, lambda: "bitsandbytes" not in _text(screen, "problems"), what="full_small")
        check = _text(screen, "problems")
        assert "will be refused here" in check and "flash_attention_2" in check
        screen.query_one("#armory-profile", Select).value = "cpu_tiny"
        await wait_for(pilot, lambda: "✓ valid" in _text(screen, "problems"), what="valid again")
        assert "refused" not in _text(screen, "problems")
        assert len(probes) == 1  # probed once, in a worker, then remembered


async def test_a_failed_probe_says_so(make_app: Callable[..., RealmApp]) -> None:
    app = make_app(probe_environment=lambda: None)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open(app, pilot)
        screen.query_one("#armory-batch_size", Input).value = "2"
        screen.query_one("#armory-profile", Select).value = "24gb_full_small"
        await wait_for(pilot, lambda: "could not probe" in _text(screen, "problems"), what="probe failed")
        assert "✓ valid" in _text(screen, "problems")  # nothing machine-independent is wrong


def test_the_armory_keeps_torch_out_of_the_ui_process() -> None:
    code = (
        "import json, sys\nimport realm_tui.ui.screens.armory, realm_tui.services.armory, realm_tui.ui.game\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert not {m for m in loaded if m.split(".")[0] in ("torch", "transformers", "bitsandbytes", "galore_torch")}
