"""The Tavern's quest line says what the battle trains (issue 16): from its start (before the
first step, from the plan: the quest and the curriculum's skills) and then from each step's mix,
never "none queued" while a battle runs. Pilot at 100×30; the trainer is the scripted FakeBridge."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from ui_testkit import FakeBridge
from uiwait import wait_for

from realm_tui.ui.app import RealmApp
from realm_tui.ui.models import TrainerState
from realm_tui.ui.widgets.hero import BattleBox

pytestmark = pytest.mark.anyio


def quest_line(app: RealmApp) -> str:
    return str(app.screen.query_one(BattleBox).query_one("#quest").render())


async def test_at_the_start_the_line_names_the_quest_and_skills_being_trained(
    make_app: Callable[..., RealmApp],
) -> None:
    made: list[FakeBridge] = []

    def starting() -> FakeBridge:  # a trainer that has said hello and sent no step yet
        made.append(FakeBridge(paused=True))
        return made[-1]

    app = make_app(bridge_factory=starting)
    async with app.run_test(size=(100, 30)) as pilot:
        game = app.game
        await pilot.press("s")
        await wait_for(pilot, lambda: game.trainer_state.busy and game.battle.plan is not None, what="planned")
        plan = game.battle.plan
        assert plan is not None and plan.quest_path is not None
        await wait_for(pilot, lambda: plan.quest_id in quest_line(app), what="the quest on the line")
        line = quest_line(app)
        assert "none queued" not in line, line
        assert f"trains {plan.quest_id} + BIN" in line, line  # the fixture campaign trains BIN and SY
        assert "SY" in line, line
        await pilot.press("x")
        await wait_for(pilot, lambda: game.trainer_state is TrainerState.IDLE, what="idle")
        # The Tavern redraws when the forwarded state change reaches it, a message after the app's.
        await wait_for(pilot, lambda: "next quest" in quest_line(app), what="the next quest on the line")
        assert "trains" not in quest_line(app)


async def test_during_the_battle_the_line_follows_the_steps_mix(make_app: Callable[..., RealmApp]) -> None:
    app = make_app(bridge_factory=lambda: FakeBridge(mix={"bin": 8}))  # the quest is trained: BIN alone
    async with app.run_test(size=(100, 30)) as pilot:
        game = app.game
        await pilot.press("s")
        await wait_for(pilot, lambda: game.live is not None and game.trainer_state is TrainerState.TRAINING, what="on")
        await wait_for(pilot, lambda: "+ BIN" in quest_line(app) and "SY" not in quest_line(app), what="the mix")
        await pilot.press("x")
        await wait_for(pilot, lambda: game.trainer_state is TrainerState.IDLE, what="idle")
