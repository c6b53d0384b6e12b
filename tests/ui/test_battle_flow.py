"""The battle from the keyboard (scripted trainer): start / pause / resume / stop, live updates,
toasts, a dead trainer, a finished quest, StepUpdate coalescing, and leaving during a battle."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from ui_testkit import FakeBridge
from uiwait import Toasts, wait_for

from realm_tui.contract.protocol import Pause, Resume, Stop
from realm_tui.paths import RealmPaths
from realm_tui.rules import HeroStats
from realm_tui.rules.notifications import Notification, NotificationKind, Severity
from realm_tui.ui.app import RealmApp
from realm_tui.ui.messages import NotificationRaised, StepUpdate
from realm_tui.ui.models import BattleSnapshot, TrainerState
from realm_tui.ui.screens.modals import QuitModal
from realm_tui.ui.widgets.battle import Readouts
from realm_tui.ui.widgets.hero import BattleBox, ZoneBadge

pytestmark = pytest.mark.anyio


def bridges(into: list[FakeBridge], **kwargs: Any) -> Callable[[], FakeBridge]:
    def make() -> FakeBridge:
        bridge = FakeBridge(**kwargs)
        into.append(bridge)
        return bridge

    return make


async def test_start_pause_resume_stop_from_the_keyboard(make_app: Callable[..., RealmApp]) -> None:
    made: list[FakeBridge] = []
    app = make_app(bridge_factory=bridges(made))
    async with app.run_test(size=(120, 40)) as pilot:
        game = app.game
        await pilot.press("s")
        await wait_for(
            pilot, lambda: game.live is not None and game.trainer_state is TrainerState.TRAINING, what="training"
        )
        assert "training" in str(app.screen.query_one(BattleBox).query_one("#quest").render())
        await pilot.press("p")
        await wait_for(pilot, lambda: game.trainer_state is TrainerState.PAUSED, what="paused")
        await pilot.press("r")
        await wait_for(pilot, lambda: game.trainer_state is TrainerState.TRAINING, what="resumed")
        await pilot.press("2")
        await wait_for(pilot, lambda: "grad-norm" in str(app.screen.query_one(Readouts).render()), what="readouts")
        await pilot.press("x")
        await wait_for(pilot, lambda: game.trainer_state is TrainerState.IDLE, what="idle after stop")
        bridge = made[0]
        assert [type(c) for c in bridge.sent if isinstance(c, Pause | Resume | Stop)] == [Pause, Resume, Stop]
        latest = game.store.ledger.latest()
        assert latest is not None and latest.step == bridge.step  # the stop checkpoint is in the vault
        assert any("battle stopped" in line.text for line in game.log)


async def test_live_zone_badge_and_hero_xp(make_app: Callable[..., RealmApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("s")
        await wait_for(pilot, lambda: app.game.live is not None and app.game.live.step >= 2403, what="steps")
        badge = app.screen.query_one(ZoneBadge)
        assert any(badge.has_class(f"-{zone}") for zone in ("recovery", "productive", "stretch", "overload"))
        assert str(badge.render()).strip() in {"Recovery", "Productive", "Stretch", "Overload"}
        assert "XP" in str(app.screen.query_one("#level").render())
        await pilot.press("x")
        await wait_for(pilot, lambda: not app.game.trainer_state.busy, what="stopped")


async def test_trainer_death_is_reported(make_app: Callable[..., RealmApp]) -> None:
    app = make_app(bridge_factory=bridges([], crash_at=2403))
    async with app.run_test(size=(120, 40)) as pilot:
        toasts = Toasts(app)
        await pilot.press("s")
        await wait_for(pilot, lambda: app.game.trainer_state is TrainerState.DEAD, what="dead")
        assert "Trainer stopped unexpectedly" in toasts.titles()
        # the screen hears the state after the App does: wait for its status bar to repaint
        await wait_for(pilot, lambda: "DEAD" in str(app.screen.query_one("#status").render()), what="status DEAD")
        assert app.check_action("start_battle", ()) is True  # a dead trainer can be started again


async def test_finished_quest_moves_to_done_and_pays(make_app: Callable[..., RealmApp]) -> None:
    app = make_app(battle_steps=3)
    async with app.run_test(size=(120, 40)) as pilot:
        toasts = Toasts(app)
        await pilot.press("s")
        await wait_for(pilot, lambda: "Quest complete" in toasts.titles(), what="quest complete toast")
        await wait_for(pilot, lambda: not app.game.trainer_state.busy, what="idle")
        await pilot.pause()
        realm = app.game.realm
        assert (realm.quests / "done" / "urgent-bits.jsonl").is_file()
        assert not (realm.quests / "queue" / "high" / "urgent-bits.jsonl").exists()


def _snapshot(step: int) -> BattleSnapshot:
    stats = HeroStats(step, step // 1000, step % 1000, 1000 - step % 1000, 10, 9, 0.5, 100)
    values = (1.0, 1.0, None, 1e-3, 0.5, 100.0, 5.0, 0.6, "overload", 1.0, "continue", stats)
    return BattleSnapshot("dio-nano", "c", "q", step, 5000, 2400, *values)  # type: ignore[arg-type]


async def test_step_updates_coalesce(make_app: Callable[..., RealmApp]) -> None:
    seen: list[int] = []

    def hook(message: object) -> None:
        if isinstance(message, StepUpdate):
            seen.append(message.snapshot.step)

    app = make_app()
    async with app.run_test(size=(120, 40), message_hook=hook) as pilot:
        await pilot.pause()
        for step in range(2401, 2601):
            app.post_message(StepUpdate(_snapshot(step)))
        await pilot.pause()
        await pilot.pause()
        assert app.game.live is not None and app.game.live.step == 2600
        app_seen = [s for s in seen]
        assert 2600 in app_seen and len(app_seen) < 100  # a burst of 200 collapsed


async def test_every_notification_kind_toasts(make_app: Callable[..., RealmApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        toasts = Toasts(app)
        for kind in NotificationKind:
            app.post_message(NotificationRaised(Notification(kind, f"title {kind.value}", "body", Severity.WARNING)))
        await pilot.pause()
        assert {f"title {k.value}" for k in NotificationKind} <= set(toasts.titles())


async def test_leaving_during_a_battle(make_app: Callable[..., RealmApp], launched: list[Any]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("s")
        await wait_for(pilot, lambda: app.game.trainer_state is TrainerState.TRAINING, what="training")
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, QuitModal)
        await pilot.press("escape")  # cancel: stay, the battle goes on
        await pilot.pause()
        assert not isinstance(app.screen, QuitModal) and app.game.trainer_state.busy
        await pilot.press("ctrl+q")
        await pilot.pause()
        await pilot.press("h")  # keep training headless
        await wait_for(pilot, lambda: app.return_value == "headless", what="exit to headless")
    assert app.return_value == "headless"
    assert app.game.store.closed  # released before the headless battle starts, which needs it
    assert launched == [app.game.realm] and app.headless_pid == 99999


async def test_leaving_with_stop(make_app: Callable[..., RealmApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("s")
        await wait_for(pilot, lambda: app.game.trainer_state is TrainerState.TRAINING, what="training")
        await pilot.press("ctrl+q")
        await pilot.pause()
        await pilot.press("s")
        await wait_for(pilot, lambda: app.return_value == "stop", what="exit after stop")
    assert app.game.store.closed


async def test_quit_without_battle_exits_at_once(make_app: Callable[..., RealmApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert app.return_value == ""


async def test_read_only_while_another_process_holds_the_store(
    make_app: Callable[..., RealmApp], realm: RealmPaths
) -> None:
    import subprocess
    import sys

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"from realm_tui.store import Store; s = Store.open({str(realm.store_file)!r}); "
            "print('held', flush=True); import time; time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            toasts = Toasts(app)
            assert app.game.readonly and f"process {holder.pid}" in app.game.readonly_reason
            assert app.check_action("start_battle", ()) is None, "Start is shown greyed, not offered"
            await pilot.press("s")
            await pilot.pause()
            assert not app.game.trainer_state.busy
            await pilot.press("4", "d")
            await pilot.pause()
            assert "read-only" in toasts.text()
    finally:
        holder.kill()
        holder.wait(10)
