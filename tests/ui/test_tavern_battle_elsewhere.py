"""Issue 15, point 4, in the game: opened while a real headless battle holds the store, the
Tavern says that a battle is running, by which process, since when and at which step, and
follows the step as the battle records it (no longer "no battle yet this session" alone)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import Static
from ui_testkit import add_tiny_hero
from uiwait import wait_for

from live_battle import LiveBattle
from realm_tui.paths import RealmPaths
from realm_tui.ui.app import RealmApp

pytestmark = [pytest.mark.anyio, pytest.mark.slow, pytest.mark.timeout(900)]


def _elsewhere(app: RealmApp) -> str:
    return str(app.screen.query_one("#tavern-elsewhere", Static).render())


async def test_the_tavern_names_the_battle_another_process_runs(
    make_app: Callable[..., RealmApp], realm: RealmPaths, tmp_path: Path
) -> None:
    add_tiny_hero(realm)
    hero_file = realm.heroes_config / "tiny.yaml"
    hero_file.write_text(hero_file.read_text().replace("save_steps: 1000", "save_steps: 5"))
    curriculum = realm.configs / "curriculum.yaml"  # skills after the quests: the battle goes on
    curriculum.write_text(curriculum.read_text().replace("quest_share: 1.0", "quest_share: 0.5"))
    battle = LiveBattle(realm, tmp_path / "battle.err", "--steps", "100000").start()
    try:
        battle.wait_for(lambda e: e["event"] == "Step", "a first step")
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            assert app.game.readonly
            assert not app.check_action("start_battle", ()), "a read-only game offers no Start"
            line = _elsewhere(app)
            assert f"A battle is running: pid {battle.pid} (realm train --no-ui" in line, line
            assert re.search(r"since \d\d:\d\d:\d\d", line) and "campaign tiny-campaign at step" in line, line

            # The step follows the battle's records: wait for a save, then for the Tavern to show it.
            saved = battle.wait_for(lambda e: e["event"] == "CheckpointSaved" and e["step"] >= 10, "a save")

            def shown_step() -> int:
                found = re.search(r"at step (\d+)", _elsewhere(app))
                return int(found.group(1)) if found else -1

            await wait_for(pilot, lambda: shown_step() >= saved["step"], timeout=120, what="the saved step shown")
            assert app.screen.query_one("#tavern-elsewhere", Static).display

            battle.kill()
            await wait_for(pilot, lambda: "let go of the store" in _elsewhere(app), timeout=60, what="the battle gone")
    finally:
        battle.kill()


async def test_no_line_when_the_game_holds_the_store_itself(make_app: Callable[..., RealmApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert not app.game.readonly
        assert app.check_action("start_battle", ())
        assert not app.screen.query_one("#tavern-elsewhere", Static).display
