"""Campaigns from the keyboard: archive on the Guild (A), New Game+ from a Vault checkpoint (n);
both ask first and are refused while a battle runs; the next battle resumes from the New Game+
checkpoint."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.widgets import DataTable
from ui_testkit import CAMPAIGN, FakeBridge
from uiwait import Toasts, wait_for

from realm_tui.contract.manifest import is_valid_checkpoint
from realm_tui.paths import RealmPaths
from realm_tui.ui.app import RealmApp
from realm_tui.ui.models import TrainerState
from realm_tui.ui.screens.guild import GuildScreen
from realm_tui.ui.screens.modals import ConfirmModal
from realm_tui.ui.screens.vault import VaultScreen

C1800 = "checkpoint-1800-20260101-0400"

pytestmark = pytest.mark.anyio


def _select(screen: VaultScreen, name: str) -> None:
    table = screen.query_one("#vault-table", DataTable)
    table.move_cursor(row=table.get_row_index(name))


async def test_archive_from_the_guild_asks_first(make_app: Callable[..., RealmApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        toasts = Toasts(app)
        await pilot.press("5")
        await pilot.pause()
        assert isinstance(app.screen, GuildScreen)
        await pilot.press("A")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal) and CAMPAIGN in app.screen.question
        await pilot.press("n")  # changed my mind
        await pilot.pause()
        assert app.game.store.campaigns.require(CAMPAIGN).status == "active"
        await pilot.press("A")
        await pilot.pause()
        await pilot.press("y")
        await wait_for(pilot, lambda: "Campaign" in toasts.titles(), what="archived toast")
        record = app.game.store.campaigns.require(CAMPAIGN)
        assert record.status == "archived"
        assert record.milestones[-1]["kind"] == "archived"
        assert "(archived)" in str(app.screen.query_one("#guild-campaign").render())
        await pilot.press("A")  # nothing left to archive
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmModal)
        assert "archived already" in toasts.text()


async def test_new_game_plus_from_a_vault_checkpoint(make_app: Callable[..., RealmApp], realm: RealmPaths) -> None:
    made: list[FakeBridge] = []

    def bridge() -> FakeBridge:
        made.append(FakeBridge())
        return made[-1]

    app = make_app(bridge_factory=bridge)
    async with app.run_test(size=(120, 40)) as pilot:
        toasts = Toasts(app)
        store = app.game.store
        await pilot.press("4")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, VaultScreen)
        _select(screen, C1800)
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal) and C1800 in app.screen.question
        await pilot.press("y")
        await wait_for(pilot, lambda: "New Game+" in toasts.titles(), what="New Game+ toast")
        new = store.campaigns.active()
        assert new is not None and new.id != CAMPAIGN
        assert (new.new_game_plus_of, new.start_checkpoint, new.current_step) == (CAMPAIGN, C1800, 1800)
        assert new.skill_levels == store.ledger.require(C1800).skill_levels
        assert [m["kind"] for m in new.milestones] == ["started", "new_game_plus"]
        old = store.campaigns.require(CAMPAIGN)
        assert old.status == "paused" and old.milestones[-1]["kind"] == "paused"
        [seed] = store.ledger.by_campaign(new.id)
        assert seed.step == 1800 and not seed.champion and is_valid_checkpoint(realm.root / seed.path)
        assert (realm.root / store.ledger.require(C1800).path).is_dir()  # the source keeps its folder
        table = screen.query_one("#vault-table", DataTable)
        assert [str(table.get_row_at(i)[1]) for i in range(table.row_count)] == [seed.name]

        await pilot.press("s")  # the first battle of New Game+ resumes from its checkpoint
        await wait_for(pilot, lambda: app.game.trainer_state is TrainerState.TRAINING, what="training")
        job = made[0].job
        assert job is not None and job.campaign_id == new.id
        assert job.resume_from is not None and job.resume_from.endswith(seed.name)
        await pilot.press("n")  # refused while the battle runs
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmModal) and "a battle is running" in toasts.text()
        await pilot.press("5", "A")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmModal)
        assert store.campaigns.require(new.id).status == "active"
        await pilot.press("x")
        await wait_for(pilot, lambda: not app.game.trainer_state.busy, what="stopped")
