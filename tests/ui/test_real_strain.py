"""The strain plot moves in a REAL battle: the default game (fresh `realm init`, dio-nano, the
default curriculum) trains from the keyboard until its first skill level-up; after it, strain is
measured against the new comfort floor (the loss at which the level was mastered), and the Battle
screen's strain plot keeps getting new points that are not all one value (issue 11, point 4)."""

from __future__ import annotations

from pathlib import Path

import pytest
from uiwait import Toasts, wait_for

from realm_tui.battle.bridge import TrainerBridge
from realm_tui.services.init_realm import init_realm
from realm_tui.trainer.entry.oracle import oracle_main
from realm_tui.ui.app import create_app
from realm_tui.ui.game import GameOptions
from realm_tui.ui.models import TrainerState
from realm_tui.ui.widgets.battle import StrainPlot, strain_points

pytestmark = [pytest.mark.anyio, pytest.mark.slow, pytest.mark.timeout(2400)]

AFTER = 12
"""Strain points to see after the level-up."""


async def test_the_strain_plot_moves_after_the_first_level_up_of_a_real_battle(tmp_path: Path) -> None:
    realm, _ = init_realm(tmp_path / "realm")
    options = GameOptions(
        bridge_factory=TrainerBridge, oracle_target=oracle_main, inbox_poll_s=0, plot_interval_s=0.5, stop_grace_s=120
    )
    app = create_app(realm.root, options)
    async with app.run_test(size=(120, 40)) as pilot:
        toasts = Toasts(app)
        game = app.game
        await pilot.press("2")  # the Battle screen, where the strain plot is
        await pilot.press("s")
        await wait_for(pilot, lambda: game.trainer_state is TrainerState.TRAINING, timeout=300, what="training")
        campaign = game.store.campaigns.active()
        assert campaign is not None, toasts.text()

        def level_ups() -> list[dict]:
            record = game.store.campaigns.require(campaign.id)
            return list(record.transitions)

        # A dio-nano masters BIN level 1 in 1-2 minutes on 2 quiet cores; far longer on a busy machine.
        await wait_for(pilot, lambda: level_ups() or game.trainer_state is TrainerState.IDLE, 1800, "a level-up")
        assert level_ups(), f"the battle ended without a level-up\n{toasts.text()}"
        assert game.live is not None
        mastered_at = int(level_ups()[0]["step"])
        floor = level_ups()[0].get("loss")
        assert floor is not None and floor > 0, "the comfort floor is the loss the level was mastered at"

        def after() -> list[tuple[float, float]]:
            live = game.live
            return [p for p in strain_points(live.history) if p[0] > mastered_at] if live is not None else []

        await wait_for(pilot, lambda: len(after()) >= AFTER, 600, f"{AFTER} strain points after the level-up")
        plot = app.screen.query_one("#strain-plot", StrainPlot)
        await wait_for(pilot, lambda: bool(plot._points) and plot._points[-1][0] > mastered_at, 60, "the plot redrawn")
        values = [v for _, v in after()]
        assert len({round(v, 6) for v in values}) > 1, f"strain after the level-up is one flat value: {values}"
        assert all(v >= 0 for v in values)
        await pilot.press("x")
        await wait_for(pilot, lambda: game.trainer_state is TrainerState.IDLE, 180, "stopped")
