"""Paths in the game (issue 17 point 1): the Armory picks a path for the hero's campaign (a path
whose optimizer cannot continue the campaign's checkpoints is refused), the next battle follows it,
and the Guild and the Vault show it. The trainer is a fake (no torch here); the real battle on a
path is tests/battle/test_path_battle.py."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.widgets import DataTable, Select, Static
from ui_testkit import FakeBridge
from uiwait import Toasts, wait_for

from realm_tui.ui.app import RealmApp
from realm_tui.ui.screens.armory import ArmoryScreen
from realm_tui.ui.screens.guild import GuildScreen
from realm_tui.ui.screens.vault import VaultScreen

pytestmark = pytest.mark.anyio


async def test_the_armory_picks_a_path_and_the_guild_and_vault_show_it(make_app: Callable[..., RealmApp]) -> None:
    made: list[FakeBridge] = []

    def bridge() -> FakeBridge:
        made.append(FakeBridge())
        return made[-1]

    app = make_app(bridge_factory=bridge)
    async with app.run_test(size=(120, 40)) as pilot:
        toasts = Toasts(app)
        await pilot.press("7")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ArmoryScreen)
        picker = screen.query_one("#armory-path", Select)
        assert picker.value == "default"
        info = screen.query_one("#armory-path-info", Static)

        picker.value = "galore@reasoning"  # cpu_tiny trains full weights: GaLore is refused
        await wait_for(pilot, lambda: "refused for dio-nano" in str(info.render()), what="refusal shown")
        picker.value = "muon@reasoning"  # the campaign's checkpoints hold AdamW state
        await pilot.pause()
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "checkpoints were trained on path default" in toasts.text(), what="refused")
        assert app.game.paths.followed("dio-nano") is None

        picker.value = "adamw@arithmetic"  # same optimizer: the campaign may switch domains
        await pilot.pause()
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "follows path adamw@arithmetic" in toasts.text(), what="followed")
        assert app.game.paths.followed("dio-nano") == "adamw@arithmetic"

        await pilot.press("s")  # the next battle follows it: BIN only
        await wait_for(pilot, lambda: made and made[0].job is not None, what="battle started")
        job = made[0].job
        assert job is not None and set(job.curriculum["skills"]) == {"bin"}
        await pilot.press("x")
        await wait_for(pilot, lambda: not app.game.trainer_state.busy, what="stopped")

        await pilot.press("5")
        await pilot.pause()
        assert isinstance(app.screen, GuildScreen)
        campaign = str(app.screen.query_one("#guild-campaign", Static).render())
        assert "adamw@arithmetic" in campaign and "The Steady Hand" in campaign

        await pilot.press("4")
        await pilot.pause()
        vault = app.screen
        assert isinstance(vault, VaultScreen)
        table = vault.query_one("#vault-table", DataTable)
        table.move_cursor(row=0)  # newest first: the checkpoint of the battle on the path
        await pilot.pause()
        assert "path 🏹 adamw@arithmetic" in str(vault.query_one("#vault-detail", Static).render())
        table.move_cursor(row=1)  # an older one, saved before any path
        await pilot.pause()
        assert "path default" in str(vault.query_one("#vault-detail", Static).render())
