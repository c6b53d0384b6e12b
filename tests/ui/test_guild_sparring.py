"""Sparring from the Guild (m): the real tiny hero answers in a spawned child (as `realm quest
spar` does), its mistakes become a high-priority quest on the board, and the game says so."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from textual.widgets import OptionList
from ui_testkit import add_tiny_hero
from uiwait import Toasts, wait_for

from realm_tui.paths import RealmPaths
from realm_tui.ui.app import RealmApp
from realm_tui.ui.screens.guild import GuildScreen
from realm_tui.ui.screens.modals import PickModal

pytestmark = pytest.mark.anyio


async def test_spar_from_the_guild_queues_the_mistakes(make_app: Callable[..., RealmApp], realm: RealmPaths) -> None:
    add_tiny_hero(realm)  # the active campaign's hero: untrained, so it gets answers wrong
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        toasts = Toasts(app)
        store = app.game.store
        before = {q.id for q in store.quests.all()}
        await pilot.press("5")
        await pilot.pause()
        guild = app.screen
        assert isinstance(guild, GuildScreen)
        guild.spar_count = 6
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, PickModal), what="the skill picker")
        assert isinstance(app.screen, PickModal)
        options = app.screen.query_one(OptionList)
        assert options.highlighted is not None and options.get_option_at_index(options.highlighted).id == "bin"
        started = time.monotonic()
        await pilot.press("enter")
        await wait_for(pilot, lambda: guild.sparring, what="sparring started")
        await pilot.press("N")  # no campaign move while the hero spars
        await wait_for(pilot, lambda: "sparring" in toasts.text(), what="the refusal toast")
        assert not isinstance(app.screen, PickModal)
        # A hang guard: a tiny model answering 6 problems takes seconds on quiet cores, minutes on busy ones.
        await wait_for(pilot, lambda: not guild.sparring, timeout=900, what="sparring result")
        print(f"sparring round of 6 took {time.monotonic() - started:.1f}s")
        [new] = [q for q in store.quests.all() if q.id not in before]
        assert (new.state, new.priority, new.report["sparring"]["skill"]) == ("queued", "high", "bin")
        assert (realm.root / new.path).is_file()
        [(title, message, severity)] = [c for c in toasts.calls if c[0] == "Sparring" and "right on BIN" in c[1]]
        assert severity == "information" and f"→ quest {new.id} queued high" in message
        assert "tiny (base): " in message and "/6 right on BIN level 1" in message


async def test_a_round_that_cannot_start_says_why(make_app: Callable[..., RealmApp], realm: RealmPaths) -> None:
    from realm_tui.store import CampaignRecord, Store

    with Store.open(realm.store_file) as store:  # the active campaign's hero has no config any more
        for c in store.campaigns.all():
            store.campaigns.update(c.id, status="paused")
        store.campaigns.add(CampaignRecord(id="ghost-campaign", hero_id="ghost", name="ghost campaign"))
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        toasts = Toasts(app)
        before = len(app.game.store.quests.all())
        await pilot.press("5", "m")
        await pilot.pause()
        await pilot.press("enter")
        guild = app.screen
        assert isinstance(guild, GuildScreen)
        await wait_for(pilot, lambda: "failed" in toasts.text(), what="sparring result")
        assert not guild.sparring
        [(_title, message, severity)] = [c for c in toasts.calls if "failed" in c[1]]
        assert severity == "error" and "sparring on BIN failed" in message and "ghost" in message
        assert len(app.game.store.quests.all()) == before
