"""Issue 15, point 3: opened while a real headless battle holds the store, the game follows that
battle from its event log — the Battle screen's step advances with the battle's own steps, the
jobs table names it, the Tavern shows it — steering goes to the request path (or says it cannot
yet), and when the battle ends the game says so. Waits on the battle's events, never on time."""

from __future__ import annotations

import importlib.util
import os
import re
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import DataTable, Static
from ui_testkit import add_tiny_hero
from uiwait import wait_for

from live_battle import LiveBattle
from realm_tui.paths import RealmPaths
from realm_tui.services.battle_follow import NOT_YET
from realm_tui.ui.app import RealmApp
from realm_tui.ui.models import TrainerState
from realm_tui.ui.widgets.battle import Readouts

pytestmark = [pytest.mark.anyio, pytest.mark.slow, pytest.mark.timeout(900)]


def _shown_step(app: RealmApp) -> int:
    found = re.search(r"step (\d+)/", str(app.screen.query_one(Readouts).render()))
    return int(found.group(1)) if found else -1


def _log_text(app: RealmApp) -> str:
    return "\n".join(line.text for line in app.game.log)


async def test_the_game_follows_a_headless_battle_live(
    make_app: Callable[..., RealmApp], realm: RealmPaths, tmp_path: Path
) -> None:
    add_tiny_hero(realm)
    curriculum = realm.configs / "curriculum.yaml"  # skills after the quests: the battle goes on
    curriculum.write_text(curriculum.read_text().replace("quest_share: 1.0", "quest_share: 0.5"))
    battle = LiveBattle(realm, tmp_path / "battle.err", "--steps", "100000").start()
    try:
        battle.wait_for(lambda e: e["event"] == "Step", "a first step")
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            assert app.game.readonly and app.game.battle.following
            await wait_for(
                pilot, lambda: app.game.trainer_state is TrainerState.TRAINING, timeout=120, what="followed training"
            )
            await wait_for(pilot, lambda: app.game.live is not None, timeout=120, what="a followed step")
            progress = app.screen.query_one("#progress", Static)  # the Tavern's battle box
            await wait_for(pilot, lambda: "step" in str(progress.render()), timeout=120, what="the Tavern's step")
            assert "no battle yet" not in str(progress.render())

            await pilot.press("2")
            await wait_for(pilot, lambda: _shown_step(app) >= 1, what="the Battle screen's step")
            first = _shown_step(app)
            later = battle.wait_for(lambda e: e["event"] == "Step" and e["step"] >= first + 3, "later steps")
            await wait_for(
                pilot, lambda: _shown_step(app) >= later["step"], timeout=120, what=f"step {later['step']} shown"
            )
            assert app.game.live is not None and app.game.live.history  # the loss plot's points
            assert app.game.live.stats.xp >= 1  # the hero's stats came with the steps
            jobs = app.screen.query_one("#jobs", DataTable)
            await wait_for(pilot, lambda: jobs.row_count >= 1, what="the jobs table")
            trainer = [str(cell) for cell in jobs.get_row_at(0)]
            assert trainer[:2] == ["trainer", "training"] and "ETA" in trainer[2], trainer

            # Pause from this window: through the request path, or a clear notice while there is none.
            await pilot.press("p")
            if importlib.util.find_spec("realm_tui.services.requests") is None:
                await wait_for(pilot, lambda: NOT_YET in _log_text(app), timeout=60, what="the steering notice")
            else:
                await wait_for(pilot, lambda: app.game.trainer_state is TrainerState.PAUSED, timeout=120, what="paused")
                await pilot.press("r")

            # The battle ends (a graceful stop in its own terminal): the game says so.
            os.kill(battle.pid, signal.SIGINT)
            assert battle.wait_end() == 0, battle.tail()
            await wait_for(
                pilot, lambda: "battle in the other window ended" in _log_text(app), timeout=120, what="the end said"
            )
            assert app.game.trainer_state is TrainerState.IDLE
            await pilot.press("q")  # a followed battle never asks to stop or keep it: this window just leaves
    finally:
        battle.kill()
