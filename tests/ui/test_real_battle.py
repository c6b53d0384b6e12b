"""A REAL battle from the keyboard: the tiny hero (hidden 64, 2 layers) trains in the trainer child,
is stopped with `x`, and its checkpoint shows in the Vault; then the real Oracle child answers."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.widgets import DataTable, Input, Select
from ui_testkit import add_tiny_hero
from uiwait import Toasts, wait_for

from realm_tui.battle.bridge import TrainerBridge
from realm_tui.paths import RealmPaths
from realm_tui.services.oracle import oracle_main
from realm_tui.ui.app import RealmApp
from realm_tui.ui.models import TrainerState
from realm_tui.ui.screens.oracle import ChatBubble
from realm_tui.ui.screens.vault import VaultScreen

pytestmark = pytest.mark.anyio


@pytest.mark.slow
async def test_real_tiny_battle_started_and_stopped_from_the_keyboard(
    make_app: Callable[..., RealmApp], realm: RealmPaths
) -> None:
    add_tiny_hero(realm)
    app = make_app(bridge_factory=TrainerBridge, oracle_target=oracle_main, battle_steps=200, stop_grace_s=90.0)
    async with app.run_test(size=(120, 40)) as pilot:
        toasts = Toasts(app)
        game = app.game
        await pilot.press("s")
        await wait_for(pilot, lambda: game.trainer_state is TrainerState.TRAINING, timeout=120, what="training")
        await wait_for(pilot, lambda: game.live is not None and game.live.step >= 2, timeout=120, what="2 steps")
        assert game.live is not None and game.live.hero_id == "tiny" and game.live.tokens_per_s > 0
        await pilot.press("x")
        await wait_for(pilot, lambda: game.trainer_state is TrainerState.IDLE, timeout=120, what="stopped")
        records = game.store.ledger.by_campaign("tiny-campaign")
        assert records, toasts.text()
        latest = records[-1]
        assert (realm.root / latest.path / "model.safetensors").is_file()
        await pilot.press("4")
        await pilot.pause()
        assert isinstance(app.screen, VaultScreen)
        table = app.screen.query_one("#vault-table", DataTable)
        assert latest.name in [str(table.get_row_at(i)[1]) for i in range(table.row_count)]

        # The real oracle: a second child loads the checkpoint and streams its answer.
        await pilot.press("6")
        await pilot.pause()
        app.screen.query_one("#oracle-target", Select).value = latest.name
        prompt = app.screen.query_one("#prompt", Input)
        prompt.focus()
        prompt.value = "1 + 1 ="
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: "done" in str(app.screen.query_one("#oracle-status").render()),
            timeout=120,
            what="the oracle's answer",
        )
        bubbles = list(app.screen.query(ChatBubble))
        assert len(bubbles) == 2 and not bubbles[1].has_class("-error")
        assert "im_start" in str(app.screen.query_one("#template").render())  # the hero's own template
