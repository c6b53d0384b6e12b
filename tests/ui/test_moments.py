"""Moments in the TUI: a level-up, a mastered skill level, a new champion and a maxed-out verdict
raise a banner over the screen (the bell rings), any key skips it without being swallowed, it goes
by itself after `moment_seconds`, and `configs/settings.yaml` turns banner and bell off."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from uiwait import wait_for

from realm_tui.paths import RealmPaths
from realm_tui.rules.notifications import level_up, maxed_out, new_champion, quest_complete, skill_level_up
from realm_tui.rules.progression import MaxedOutVerdict
from realm_tui.ui.app import RealmApp
from realm_tui.ui.messages import NotificationRaised
from realm_tui.ui.screens.guild import GuildScreen

pytestmark = pytest.mark.anyio


def _count_bells(app: RealmApp) -> list[int]:
    rung: list[int] = []
    app.bell = lambda: rung.append(1)  # type: ignore[method-assign]  # no terminal to ring in a test
    return rung


async def test_moments_banner_joins_skips_on_any_key_and_rings(
    make_app: Callable[..., RealmApp], realm: RealmPaths
) -> None:
    (realm.configs / "settings.yaml").write_text("moment_seconds: 30\n")  # only a key may end it here
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        rung = _count_bells(app)
        app.post_message(NotificationRaised(quest_complete("q1", 5)))  # a plain notice: no moment
        app.post_message(NotificationRaised(level_up(2, 3)))
        app.post_message(NotificationRaised(new_champion("checkpoint-40-x", 40, 0.9)))
        await wait_for(pilot, lambda: len(app.moments.shown) == 2, what="two moments")
        banner = app.moments.banner
        assert banner is not None
        text = str(banner.render())
        assert "LEVEL UP: hero level 3" in text and "NEW CHAMPION: checkpoint-40-x" in text
        assert len(rung) == 2
        await pilot.press("5")  # skips the banner AND goes to the Guild: the key is not swallowed
        await wait_for(pilot, lambda: app.moments.banner is None, what="banner skipped")
        assert isinstance(app.screen, GuildScreen)


async def test_banner_goes_by_itself(make_app: Callable[..., RealmApp], realm: RealmPaths) -> None:
    (realm.configs / "settings.yaml").write_text("moment_seconds: 0.3\n")
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        _count_bells(app)
        app.post_message(NotificationRaised(skill_level_up("bin", 2)))
        await wait_for(pilot, lambda: app.moments.banner is not None, what="banner")
        assert "LEVEL UP: BIN L2" in str(app.moments.banner.render())  # type: ignore[union-attr]
        await wait_for(pilot, lambda: app.moments.banner is None, what="banner gone by itself")


async def test_settings_turn_banner_and_bell_off(make_app: Callable[..., RealmApp], realm: RealmPaths) -> None:
    (realm.configs / "settings.yaml").write_text("bell: false\nmoments: false\n")
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        rung = _count_bells(app)
        note = maxed_out(MaxedOutVerdict(True, "Maintenance multiplier 1.40 is over the limit 1.00.", 1.4, 3))
        assert note is not None
        app.post_message(NotificationRaised(note))
        app.post_message(NotificationRaised(level_up(2, 3)))
        await wait_for(pilot, lambda: "Level up!" in [line.text.split(":")[0] for line in app.game.log], what="log")
        assert app.moments.banner is None and app.moments.shown == [] and rung == []
