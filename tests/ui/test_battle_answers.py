"""Issue 16, points 2 and 3, in the game: a real tiny battle's evals put the hero's own answers
(wrong first) on the Battle screen and in the Guild, and an accuracy curve per skill; the loss
plot gains its validation line only once a validation loss came (never made up before)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.widgets import Static
from ui_testkit import add_tiny_hero
from uiwait import wait_for

from realm_tui.battle.bridge import TrainerBridge
from realm_tui.paths import RealmPaths
from realm_tui.rules.answers import SHOWN_PER_EVAL, choose_samples
from realm_tui.services.hero_answers import latest_answers
from realm_tui.ui.app import RealmApp
from realm_tui.ui.models import TrainerState
from realm_tui.ui.widgets.answers import AnswersPanel
from realm_tui.ui.widgets.eval_plots import AccuracyPlot, LossPlot

pytestmark = pytest.mark.anyio


def _shown(app: RealmApp) -> str:
    return str(app.screen.query_one(AnswersPanel).render())


@pytest.mark.slow
@pytest.mark.timeout(600)
async def test_a_real_eval_shows_the_heros_answers(make_app: Callable[..., RealmApp], realm: RealmPaths) -> None:
    add_tiny_hero(realm)
    curriculum = realm.configs / "curriculum.yaml"  # skills in the mix: the battle evaluates them
    curriculum.write_text(curriculum.read_text().replace("quest_share: 1.0", "quest_share: 0.5"))
    hero = realm.heroes_config / "tiny.yaml"
    hero.write_text(hero.read_text().replace("eval_every_steps: 1000", "eval_every_steps: 2"))
    for skill in ("bin", "sy"):  # few problems per eval: quick on two shared cores
        path = realm.configs / "skills" / f"{skill}.yaml"
        path.write_text(path.read_text().replace("eval_samples_per_level: 100", "eval_samples_per_level: 6"))
    app = make_app(bridge_factory=TrainerBridge, battle_steps=3, stop_grace_s=120.0)
    async with app.run_test(size=(120, 40)) as pilot:
        game = app.game
        await pilot.press("2", "s")
        await wait_for(
            pilot, lambda: game.live is not None and bool(game.live.evals.answers), timeout=300, what="an eval"
        )
        await wait_for(pilot, lambda: game.trainer_state is TrainerState.IDLE, timeout=300, what="the battle's end")
        await pilot.pause()
        live = game.live
        assert live is not None
        stored = game.records.progress().evals
        assert stored and all(e.results for e in stored)
        # The screen shows each skill's latest eval, picked from the answers the store keeps.
        panel = app.screen.query_one(AnswersPanel)
        by_skill = {a.skill: a for a in latest_answers(stored)}
        assert {a.skill for a in panel.shown} == set(by_skill)
        for answers in panel.shown:
            assert answers.samples == by_skill[answers.skill].samples
            assert 1 <= len(answers.samples) <= SHOWN_PER_EVAL
            flags = [s.correct for s in answers.samples]
            assert flags == sorted(flags)  # wrong first
            first = answers.samples[0]
            assert first.prompt[:20] in _shown(app) and ("✗" if not first.correct else "✓") in _shown(app)
        curves = dict(live.evals.accuracy)  # each evaluated skill's curve, at its training level
        assert curves and set(app.screen.query_one(AccuracyPlot).drawn) == set(curves) <= set(by_skill)
        assert live.evals.val and app.screen.query_one(LossPlot).drawn == ("train", "val")

        # The Guild keeps the last answers of each level.
        await pilot.press("5")
        await pilot.pause()
        guild = str(app.screen.query_one("#guild-answers", Static).render())
        newest = stored[-1]
        assert f"{newest.skill.upper()} L{newest.level}" in guild
        assert choose_samples(newest.results, 1)[0].prompt[:20] in guild


async def test_the_val_line_comes_with_the_first_validation_loss(make_app: Callable[..., RealmApp]) -> None:
    app = make_app()  # the scripted trainer: no validation loss until its checkpoint at the stop
    async with app.run_test(size=(120, 40)) as pilot:
        game = app.game
        await pilot.press("2")
        await pilot.pause()
        plot = app.screen.query_one(LossPlot)
        assert plot.drawn == ("train", "val")  # between battles: the ledger's losses, both kept
        await pilot.press("s")
        await wait_for(pilot, lambda: game.live is not None and game.live.step >= 3, what="3 steps")
        await wait_for(pilot, lambda: plot.drawn == ("train",), what="the live train line alone")
        assert game.live is not None and game.live.evals.val == ()
        await pilot.press("x")  # the stop's checkpoint carries the first validation loss
        await wait_for(pilot, lambda: game.trainer_state is TrainerState.IDLE, what="stopped")
        await wait_for(pilot, lambda: plot.drawn == ("train", "val"), what="the val line")
        live = game.live
        assert live is not None and len(live.evals.val) == 1 and live.evals.val[0][0] == live.step
