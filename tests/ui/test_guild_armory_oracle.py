"""Guild (skills, progress, primitives, honours), Armory (validate, save, next battle) and Oracle
(streaming answers from a child process; a fake child here, the real one in test_real_battle)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.widgets import Input, Select, Static
from ui_testkit import FakeBridge
from uiwait import Toasts, wait_for

from realm_tui.config.hero import HeroConfig
from realm_tui.config.loader import load_model
from realm_tui.paths import RealmPaths
from realm_tui.ui.app import RealmApp
from realm_tui.ui.screens.armory import ArmoryScreen
from realm_tui.ui.screens.guild import GuildScreen
from realm_tui.ui.screens.oracle import ChatBubble, OracleScreen

pytestmark = pytest.mark.anyio


async def test_guild_shows_levels_progress_history_primitives_and_honours(make_app: Callable[..., RealmApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("5")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, GuildScreen)
        skills = str(screen.query_one("#guild-skills", Static).render())
        assert "mastered 3/30" in skills and "training L4" in skills
        assert "70% of 80% (3/3 evals)" in skills  # mean of 0.62, 0.71, 0.78 vs the 0.80 threshold
        assert "▁" in skills or "▇" in skills  # the eval-history sparkline
        prims = str(screen.query_one("#guild-primitives", Static).render())
        assert "trained by" in prims and "mem_recall" in prims
        honours = str(screen.query_one("#guild-honours", Static).render())
        assert "achievements 5/" in honours and "Saved Game" in honours
        campaign = str(screen.query_one("#guild-campaign", Static).render())
        assert "Growing" in campaign and "BIN 2→3 at step 1800" in campaign
        await pilot.press("f5")
        await pilot.pause()


async def test_armory_validates_saves_and_the_next_battle_uses_it(
    make_app: Callable[..., RealmApp], realm: RealmPaths
) -> None:
    made: list[FakeBridge] = []

    def bridge() -> FakeBridge:
        made.append(FakeBridge())
        return made[-1]

    app = make_app(bridge_factory=bridge)
    hero_file = realm.heroes_config / "dio-nano.yaml"
    original = hero_file.read_text()
    async with app.run_test(size=(120, 40)) as pilot:
        toasts = Toasts(app)
        await pilot.press("7")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ArmoryScreen)
        assert "GiB" in str(screen.query_one("#armory-vram", Static).render())
        batch = screen.query_one("#armory-batch_size", Input)
        batch.value = "999"  # more than cpu_tiny allows
        await pilot.pause()
        assert "max_batch_size" in str(screen.query_one("#armory-problems", Static).render())
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "fix the problems first" in toasts.text() and hero_file.read_text() == original
        batch.value = "16"
        screen.query_one("#armory-learning_rate", Input).value = "0.0005"
        await pilot.pause()
        assert "valid" in str(screen.query_one("#armory-problems", Static).render())
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "Armory" in toasts.titles(), what="saved")
        saved = load_model(hero_file, HeroConfig)
        assert saved.training_defaults.batch_size == 16 and saved.training_defaults.learning_rate == 0.0005
        assert "# The default hero" in hero_file.read_text()  # comments survive the edit
        assert list((realm.saves / "backups" / "heroes").glob("dio-nano-*.yaml"))
        await pilot.press("s")  # the next battle takes the new settings
        await wait_for(pilot, lambda: made and made[0].job is not None, what="battle started")
        assert made[0].job is not None and made[0].job.batch_size == 16
        await pilot.press("x")
        await wait_for(pilot, lambda: not app.game.trainer_state.busy, what="stopped")


async def test_armory_revert_and_switching_hero(make_app: Callable[..., RealmApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("7")
        await pilot.pause()
        screen = app.screen
        batch = screen.query_one("#armory-batch_size", Input)
        batch.value = "7"
        await pilot.press("ctrl+z")
        await wait_for(pilot, lambda: batch.value == "32", what="reverted")
        screen.query_one("#armory-hero", Select).value = "dio"
        await wait_for(pilot, lambda: screen.query_one("#armory-profile", Select).value != "cpu_tiny", what="dio")


async def test_oracle_streams_an_answer(make_app: Callable[..., RealmApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("6")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, OracleScreen)
        template = str(screen.query_one("#template", Static).render())
        assert "<|im_start|>user" in template
        select = screen.query_one("#oracle-target", Select)
        select.value = "checkpoint-1800-20260101-0400"
        await pilot.pause()
        prompt = screen.query_one("#prompt", Input)
        prompt.focus()
        prompt.value = "①+①="
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: any("The oracle hears: ①+①=" in str(b.render()) for b in screen.query(ChatBubble)),
            what="the streamed answer",
        )
        await wait_for(pilot, lambda: "done" in str(screen.query_one("#oracle-status").render()), what="done")
        shown = str(screen.query_one("#template", Static).render())  # the prompt the hero read, not Jinja
        assert "fake template" not in shown and "<|im_start|>user\n①+①=<|im_end|>" in shown
        assert app.game.oracle.loaded is not None and app.game.oracle.loaded.checkpoint is not None
        assert app.game.oracle.loaded.checkpoint.endswith("checkpoint-1800-20260101-0400")
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert not list(screen.query(ChatBubble))


async def test_oracle_keys_arrive_type_leave(make_app: Callable[..., RealmApp]) -> None:
    """Arriving focuses the conversation: a letter opens no hero picker and a digit still switches
    screens; Enter moves to the prompt, where letters and digits are typed and Ctrl+K (nothing to
    hush) deletes to the end of the line; Esc leaves it and digits switch screens again."""
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("6")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, OracleScreen)
        assert app.focused is screen.query_one("#chat")
        await pilot.press("h")
        await pilot.pause()
        assert not screen.query_one("#oracle-target", Select).expanded
        await pilot.press("enter")
        await pilot.pause()
        prompt = screen.query_one("#prompt", Input)
        assert app.focused is prompt
        assert not screen.check_action("focus_prompt", ())  # no "⏎ Type" offered in the prompt
        await pilot.press("h", "i", "2", "3")
        assert prompt.value == "hi23"
        await pilot.press("home", "right", "right", "ctrl+k")
        assert prompt.value == "hi"
        await pilot.press("escape", "1")
        await pilot.pause()
        assert app.current_mode == "tavern"
