"""Campaigns from the keyboard on the Guild: N starts a new campaign with a picked hero, R resumes
a paused one picked from a list (the active campaign pauses either way), both refused while a
battle runs; the Guild re-reads the store when a notification (a skill level-up) arrives."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.widgets import OptionList, Static
from ui_testkit import CAMPAIGN
from uiwait import Toasts, wait_for

from realm_tui.rules.notifications import skill_level_up
from realm_tui.ui.app import RealmApp
from realm_tui.ui.messages import NotificationRaised
from realm_tui.ui.models import TrainerState
from realm_tui.ui.screens.guild import GuildScreen
from realm_tui.ui.screens.modals import PickModal
from realm_tui.ui.screens.tavern import TavernScreen

pytestmark = pytest.mark.anyio


def _text(app: RealmApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def _pick(pilot: object, app: RealmApp, choice: str) -> None:
    """Highlight `choice` in the open pick list and press Enter."""
    assert isinstance(app.screen, PickModal)
    options = app.screen.query_one(OptionList)
    ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
    options.highlighted = ids.index(choice)
    await pilot.press("enter")  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]


async def test_new_campaign_then_resume_the_old_one(make_app: Callable[..., RealmApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        toasts = Toasts(app)
        store = app.game.store
        await pilot.press("5", "N")
        await pilot.pause()
        assert isinstance(app.screen, PickModal)
        listed = app.screen.query_one(OptionList)
        assert listed.option_count == len(app.game.configs.heroes) and listed.highlighted is not None
        await pilot.press("escape")  # changed my mind: nothing changes
        await pilot.pause()
        assert isinstance(app.screen, GuildScreen) and store.campaigns.active().id == CAMPAIGN  # type: ignore[union-attr]

        await pilot.press("N")
        await pilot.pause()
        await _pick(pilot, app, "flo")
        await wait_for(pilot, lambda: "Campaign" in toasts.titles(), what="campaign toast")
        new = store.campaigns.active()
        assert new is not None and new.id != CAMPAIGN and new.hero_id == "flo"
        assert (new.current_step, new.skill_levels, new.start_checkpoint) == (0, {}, None)
        assert [m["kind"] for m in new.milestones] == ["started"] and "flo" in store.heroes
        old = store.campaigns.require(CAMPAIGN)
        assert old.status == "paused" and old.milestones[-1]["kind"] == "paused"
        assert f"{new.id} (active)" in _text(app, "#guild-campaign")
        await pilot.press("1")
        await pilot.pause()
        assert isinstance(app.screen, TavernScreen) and new.id in _text(app, "#campaign")

        await pilot.press("5", "R")  # the old campaign is the one paused campaign
        await pilot.pause()
        assert isinstance(app.screen, PickModal)
        assert app.screen.query_one(OptionList).option_count == 1
        await _pick(pilot, app, CAMPAIGN)
        await wait_for(pilot, lambda: toasts.titles().count("Campaign") == 2, what="resume toast")
        assert store.campaigns.active().id == CAMPAIGN  # type: ignore[union-attr]
        assert store.campaigns.require(CAMPAIGN).milestones[-1]["kind"] == "resumed"
        assert store.campaigns.require(new.id).status == "paused"
        assert f"{CAMPAIGN} (active)" in _text(app, "#guild-campaign")
        await pilot.press("1")
        await pilot.pause()
        assert CAMPAIGN in _text(app, "#campaign")


async def test_campaign_keys_are_refused_while_a_battle_runs(make_app: Callable[..., RealmApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        toasts = Toasts(app)
        await pilot.press("5", "s")
        await wait_for(pilot, lambda: app.game.trainer_state is TrainerState.TRAINING, what="training")
        for key in ("N", "R", "m"):
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, GuildScreen), key
        assert toasts.text().count("a battle is running") == 3
        assert [c.id for c in app.game.store.campaigns.all() if c.status == "active"] == [CAMPAIGN]
        await pilot.press("x")
        await wait_for(pilot, lambda: not app.game.trainer_state.busy, what="stopped")


async def test_guild_refreshes_on_a_skill_level_up(make_app: Callable[..., RealmApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("5")
        await pilot.pause()
        assert "mastered 3/" in _text(app, "#guild-skills")
        app.game.store.campaigns.update(CAMPAIGN, skill_levels={"bin": 4, "sy": 1})  # the battle wrote it
        app.post_message(NotificationRaised(skill_level_up("bin", 4)))
        await wait_for(pilot, lambda: "mastered 4/" in _text(app, "#guild-skills"), what="guild refresh")
