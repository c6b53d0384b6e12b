"""The Battle screen at 100×30 shows every panel readably once the hero's answers of two skills
are on it: the plots keep room for a curve, and the battle log and the jobs table stay on screen."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from realm_tui.rules.answers import AnswerSample, EvalAnswers
from realm_tui.ui.app import RealmApp
from realm_tui.ui.widgets.answers import AnswersPanel

pytestmark = pytest.mark.anyio


def _answers() -> list[EvalAnswers]:
    wrong = AnswerSample(prompt="101+11=", expected="1000", got="111", correct=False)
    cut = AnswerSample(prompt="Split: cat", expected='{"words":[["cat"]]}', got='{"words":[{"syl', correct=False)
    return [
        EvalAnswers("bin", 2, 250, 0.62, 52, (wrong, wrong, wrong)),
        EvalAnswers("sy", 1, 450, 0.10, 16, (cut, cut, cut)),
    ]


async def test_every_battle_panel_shows_at_100_by_30(make_app: Callable[..., RealmApp]) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("2")
        await pilot.pause()
        app.screen.query_one(AnswersPanel).show(_answers())
        await pilot.pause()
        await pilot.pause()
        screen_rows = app.screen.size.height
        for selector, least in (
            ("#loss-plot", 6),
            ("#accuracy-plot", 6),
            ("#strain-plot", 6),
            ("#readouts", 3),
            ("#answers", 3),
            ("#battle-log", 4),
            ("#jobs", 4),
        ):
            region = app.screen.query_one(selector).region
            assert region.height >= least, (selector, region)
            assert region.bottom <= screen_rows, (selector, region, screen_rows)
        panel = app.screen.query_one(AnswersPanel)
        shown = str(panel.render())
        for answers in _answers():  # a short panel shows fewer answers of each skill, never fewer skills
            assert answers.label in shown, shown
        assert "[/]" not in shown
