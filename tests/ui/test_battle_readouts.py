"""The Battle screen's school metrics (from real Step events through the battle worker), and a
battle that cannot start raising its own notification kind (not "trainer died")."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from ui_testkit import CAMPAIGN, FakeBridge
from uiwait import Toasts, wait_for

from realm_tui.contract.protocol import Step, StepProgress
from realm_tui.rules.notifications import NotificationKind
from realm_tui.ui.app import RealmApp
from realm_tui.ui.messages import NotificationRaised
from realm_tui.ui.models import TrainerState
from realm_tui.ui.widgets.battle import Readouts
from realm_tui.ui.widgets.chrome import StatusBar

pytestmark = pytest.mark.anyio

DPO = {"dpo_margin": 0.4123, "dpo_accuracy": 0.75, "chosen_reward": 0.21, "rejected_reward": -0.2}


def _readouts(app: RealmApp) -> str:
    return str(app.screen.query_one(Readouts).render())


async def test_school_metrics_show_on_the_readouts(make_app: Callable[..., RealmApp]) -> None:
    app = make_app(bridge_factory=lambda: FakeBridge(metrics=dict(DPO)))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2", "s")
        await wait_for(pilot, lambda: "margin" in _readouts(app), what="school metrics")
        text = _readouts(app)
        assert "margin 0.412   pref-acc 75%   chosen 0.210   rejected -0.200" in text
        assert app.game.live is not None and app.game.live.metrics == DPO
        readouts = app.screen.query_one(Readouts)
        await wait_for(pilot, lambda: readouts.size.height == 4, what="room for the fourth line")
        await pilot.press("x")
        await wait_for(pilot, lambda: not app.game.trainer_state.busy, what="stopped")


async def test_plain_scribe_shows_no_school_line(make_app: Callable[..., RealmApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2", "s")
        await wait_for(pilot, lambda: "grad-norm" in _readouts(app), what="readouts")
        readouts = app.screen.query_one(Readouts)
        await wait_for(pilot, lambda: readouts.size.height == 3, what="three lines laid out")
        assert "school" not in _readouts(app)
        await pilot.press("x")
        await wait_for(pilot, lambda: not app.game.trainer_state.busy, what="stopped")


async def test_the_readouts_take_the_battle_shape_before_the_first_step(make_app: Callable[..., RealmApp]) -> None:
    """While the trainer starts (no Step yet: the fake is paused) the readouts already have their
    three lines, so the first step sets off no layout pass beside the trainer (issue #16.7)."""
    app = make_app(bridge_factory=lambda: FakeBridge(paused=True))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2", "s")
        await wait_for(pilot, lambda: app.game.trainer_state is TrainerState.TRAINING, what="training")
        await wait_for(pilot, lambda: "the trainer is starting" in _readouts(app), what="the starting readouts")
        assert app.game.live is None, "no step has come yet"
        assert "No battle this session" not in _readouts(app)
        readouts = app.screen.query_one(Readouts)
        await wait_for(pilot, lambda: readouts.size.height == 3, what="three lines laid out before the first step")
        await pilot.press("x")
        await wait_for(pilot, lambda: not app.game.trainer_state.busy, what="stopped")


async def test_a_battle_that_cannot_start_has_its_own_kind(make_app: Callable[..., RealmApp]) -> None:
    raised: list[NotificationKind] = []

    def hook(message: object) -> None:
        if isinstance(message, NotificationRaised):
            raised.append(message.notification.kind)

    app = make_app()
    async with app.run_test(size=(120, 40), message_hook=hook) as pilot:
        toasts = Toasts(app)
        app.game.store.campaigns.update(CAMPAIGN, hero_id="ghost")  # planning fails: no such hero
        await pilot.press("s")
        await wait_for(pilot, lambda: "The battle cannot start" in toasts.titles(), what="refusal toast")
        assert NotificationKind.BATTLE_REFUSED in raised and NotificationKind.TRAINER_DIED not in raised
        [(_title, body, severity)] = [c for c in toasts.calls if c[0] == "The battle cannot start"]
        assert severity == "warning" and "ghost" in body
        assert app.game.trainer_state is TrainerState.IDLE


async def test_a_long_step_shows_its_micro_batches_on_the_step_line(make_app: Callable[..., RealmApp]) -> None:
    """`StepProgress` from the trainer (a long step's micro-batches): the readouts' step line and
    the status bar read `step N/M · 3/8` until the step's own Step arrives."""
    made: list[FakeBridge] = []

    def bridge() -> FakeBridge:
        made.append(FakeBridge())
        return made[-1]

    app = make_app(bridge_factory=bridge)
    async with app.run_test(size=(120, 40)) as pilot:
        game = app.game
        await pilot.press("2", "s")
        await wait_for(pilot, lambda: game.trainer_state is TrainerState.TRAINING, what="training")
        await pilot.press("p")
        await wait_for(pilot, lambda: game.trainer_state is TrainerState.PAUSED, what="paused")
        trainer = made[0]
        done, total = trainer.step, trainer.job.max_steps if trainer.job else 0
        trainer.queue.append(StepProgress(done + 1, 3, 8, 2891, 7702))
        shown = f"step {done}/{total} · 3/8"
        await wait_for(pilot, lambda: shown in _readouts(app), what="the micro-batches on the readouts")
        assert shown in str(app.screen.query_one(StatusBar).render())
        trainer.queue.append(Step(done + 1, total, 1.0, 1e-3, 0.5, 1000.0, 10.0, 256))
        await wait_for(pilot, lambda: f"step {done + 1}/{total}" in _readouts(app), what="the step itself")
        assert "3/8" not in _readouts(app) and "3/8" not in str(app.screen.query_one(StatusBar).render())
        await pilot.press("x")
        await wait_for(pilot, lambda: not game.trainer_state.busy, what="stopped")
