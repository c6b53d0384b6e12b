"""The Armory's school picker (issue 18 point 1): at 100×30 it lists every training school, refuses
the ones a campaign cannot follow alone (Judge: a preference quest; Whisper: a teacher), and
Ctrl+S makes the hero's campaign train in the Arena, which the next battle then does: a real
trainer child runs a real Arena battle on the tiny hero and reports the Arena's numbers."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.widgets import Select, Static
from ui_testkit import add_tiny_hero
from uiwait import Toasts, wait_for

from realm_tui.battle.bridge import TrainerBridge
from realm_tui.contract.school_options import SCHOOLS
from realm_tui.paths import RealmPaths
from realm_tui.ui.app import RealmApp
from realm_tui.ui.models import TrainerState
from realm_tui.ui.screens.armory import ArmoryScreen

pytestmark = pytest.mark.anyio

BIN_ONLY = """\
strategy: focus
focus_skill: bin
quest_share: 0.0
skills:
  bin: {weight: 1.0, enabled: true}
  sy: {weight: 1.0, enabled: false}
"""


def arena_ready(realm: RealmPaths) -> None:
    """The tiny hero's campaign, BIN problems only (the Arena trains on a skill), no quest."""
    add_tiny_hero(realm)
    (realm.configs / "curriculum.yaml").write_text(BIN_ONLY)
    for queued in (realm.quests / "queue").rglob("*.jsonl"):
        queued.unlink()


def shown(screen: ArmoryScreen) -> str:
    return str(screen.query_one("#armory-school-info", Static).render())


@pytest.mark.slow
async def test_the_armory_school_picker_makes_the_next_battle_an_arena(
    make_app: Callable[..., RealmApp], realm: RealmPaths
) -> None:
    arena_ready(realm)
    app = make_app(bridge_factory=TrainerBridge, battle_steps=1000, stop_grace_s=90.0)
    async with app.run_test(size=(100, 30)) as pilot:
        toasts = Toasts(app)
        game = app.game
        await pilot.press("7")
        await wait_for(pilot, lambda: isinstance(app.screen, ArmoryScreen), what="the Armory")
        screen = app.screen
        assert isinstance(screen, ArmoryScreen)
        picker = screen.query_one("#armory-school", Select)
        hero = screen.query_one("#armory-hero", Select)
        await wait_for(pilot, lambda: hero.value == "tiny", what="the campaign's hero in the form")
        assert picker.value == "scribe"
        for school in SCHOOLS:  # every school the realm has is offered (an unknown value raises)
            picker.value = school
        picker.value = "scribe"
        info = screen.query_one("#armory-school-info")
        assert info.region.bottom <= 30 and info.region.width > 0  # on screen at 100×30

        picker.value = "judge"  # a preference quest is named per battle: refused, nothing written
        await wait_for(pilot, lambda: "not for a campaign" in shown(screen), what="judge refusal shown")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "preference quest" in toasts.text(), what="judge refused")
        assert game.schools.followed("tiny") == "scribe"
        picker.value = "whisper"
        await wait_for(pilot, lambda: "teacher" in shown(screen), what="whisper refusal shown")

        picker.value = "arena"
        await wait_for(pilot, lambda: "not followed yet" in shown(screen), what="arena offered")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "trains in the arena school" in toasts.text(), what="arena followed")
        assert game.schools.followed("tiny") == "arena"
        assert game.store.campaigns.get("tiny-campaign").school == "arena"
        assert "not followed yet" not in shown(screen)

        await pilot.press("s")  # the next battle: a real trainer child, in the Arena
        await wait_for(pilot, lambda: game.trainer_state is TrainerState.TRAINING, timeout=180, what="training")
        await wait_for(
            pilot,
            lambda: game.live is not None and "reward" in game.live.metrics,
            timeout=300,
            what="an arena step",
        )
        assert game.live is not None
        metrics = game.live.metrics
        assert {"reward", "solved", "signal", "answer_len", "problems_per_s"} <= set(metrics)
        await pilot.press("x")
        await wait_for(pilot, lambda: game.trainer_state is TrainerState.IDLE, timeout=180, what="stopped")
        assert game.schools.followed("tiny") == "arena"  # the campaign keeps its school
