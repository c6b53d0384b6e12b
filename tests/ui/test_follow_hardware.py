"""A game following a battle another process runs counts that battle in its Hardware panel's RSS
(issue 16): the probe follows the store holder's process tree, the headless parent and its
trainer child. A real headless battle; waits on its events, never on time."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
from ui_testkit import add_tiny_hero
from uiwait import wait_for

from live_battle import LiveBattle
from realm_tui.battle.telemetry import HardwareProbe
from realm_tui.paths import RealmPaths
from realm_tui.ui.app import RealmApp
from realm_tui.ui.widgets.hardware import HardwarePanel

pytestmark = [pytest.mark.anyio, pytest.mark.slow, pytest.mark.timeout(900)]


async def test_the_followed_battles_trainer_is_in_the_hardware_rss(
    make_app: Callable[..., RealmApp], realm: RealmPaths, tmp_path: Path
) -> None:
    add_tiny_hero(realm)
    battle = LiveBattle(realm, tmp_path / "battle.err", "--steps", "100000").start()
    try:
        battle.wait_for(lambda e: e["event"] == "Step", "a first step")
        trainer = next(iter(psutil.Process(battle.pid).children(recursive=True)))
        probe = HardwareProbe(None, min_interval_s=0)  # the real probe (no GPU here)
        app = make_app(read_hardware=probe)
        async with app.run_test(size=(100, 30)) as pilot:
            assert app.game.readonly and app.game.battle.following
            assert probe.followed_pid == battle.pid  # here the battle is also this test's child; for a
            # player it is another terminal's process, counted only through this
            await pilot.press("2")
            panel = app.screen.query_one(HardwarePanel)
            own = psutil.Process().memory_info().rss
            floor = own + trainer.memory_info().rss // 2
            await wait_for(pilot, lambda: panel.report is not None and panel.report.rss_bytes > floor, what="the RSS")
    finally:
        battle.kill()
