"""Toasts hide no panel's figures on the Battle screen at 100×30 (issue 16): one toast shows at a
time, the newest, in three lines, low on the right, above the status bar and the footer; the
answers, the readouts' ETA, the jobs and the status bar stay whole (a toast may lie on a panel's
border, never on its figures). Pilot with toasts on."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.widgets import Static
from uiwait import wait_for

from realm_tui.rules.answers import AnswerSample, EvalAnswers
from realm_tui.rules.notifications import Notification, NotificationKind, Severity
from realm_tui.ui.app import RealmApp
from realm_tui.ui.messages import NotificationRaised
from realm_tui.ui.widgets.answers import AnswersPanel

pytestmark = pytest.mark.anyio

PANELS = ("#loss-plot", "#accuracy-plot", "#strain-plot", "#readouts", "#answers", "#battle-log", "#jobs", "#status")
NOTES = (
    Notification(NotificationKind.QUEST_COMPLETE, "Quest complete: urgent-bits", "2 passes", Severity.SUCCESS),
    Notification(NotificationKind.ACHIEVEMENT, "Achievement: Thousand Cuts", "Trained 1,000 steps.", Severity.INFO),
    Notification(
        NotificationKind.REGRESSION,
        "BIN level 1 is slipping",
        "62% at step 301 against 88% at mastery: review data joins the mix for BIN level 1 so it comes back",
        Severity.WARNING,
    ),
)


def shown_toasts(app: RealmApp) -> list[Static]:
    return [t for t in app.screen.query("Toast") if isinstance(t, Static) and t.parent is not None and t.parent.display]


async def test_one_toast_at_a_time_and_no_panel_under_it(make_app: Callable[..., RealmApp]) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await pilot.press("2")
        await pilot.pause()
        wrong = AnswerSample(prompt="101+11=", expected="1000", got="111", correct=False)
        app.screen.query_one(AnswersPanel).show([EvalAnswers("bin", 2, 250, 0.62, 52, (wrong, wrong))])
        for note in NOTES:
            app.post_message(NotificationRaised(note))
        await wait_for(pilot, lambda: len(app.screen.query("Toast")) == len(NOTES), what="the toasts")
        await pilot.pause()
        shown = shown_toasts(app)
        assert len(shown) == 1, [str(t.render()) for t in shown]
        assert "slipping" in str(shown[0].render())  # the newest
        toast = shown[0].region
        assert 0 < toast.height <= 3, toast
        for selector in PANELS:
            inside = app.screen.query_one(selector).content_region
            assert not toast.overlaps(inside), (selector, inside, toast)
