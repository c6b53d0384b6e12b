"""Issue 15, point 2, the idle game: the TUI holds the store (its one writer) with no battle running,
and writes from another terminal (`realm quest add`, `quest cancel`, `vault crown`) are applied by
it - through the same request path a battle uses - and acknowledged; the shown screen follows.

The CLI runs as a user would, in another process, against the realm the app holds open."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import DataTable
from ui_testkit import chat_lines
from uiwait import wait_for

from cli_kit import realm_cli
from realm_tui.paths import RealmPaths
from realm_tui.ui.app import RealmApp
from realm_tui.ui.models import TrainerState
from realm_tui.ui.screens.quests import QuestBoardScreen

pytestmark = pytest.mark.anyio
C1000 = "checkpoint-1000-20260101-0300"
HANG_S = 120
"""A hang guard for a CLI subprocess on a loaded machine, not a speed requirement."""


def _table_ids(screen: QuestBoardScreen) -> set[str]:
    table = screen.query_one("#quest-table", DataTable)
    return {str(key.value) for key in table.rows}


async def test_a_quest_added_from_another_terminal_reaches_the_idle_games_board(
    make_app: Callable[..., RealmApp], realm: RealmPaths, tmp_path: Path
) -> None:
    source = tmp_path / "from-ssh.jsonl"
    source.write_text(chat_lines(12))
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("3")
        await wait_for(pilot, lambda: isinstance(app.screen, QuestBoardScreen), what="the Quest Board")
        screen = app.screen
        assert isinstance(screen, QuestBoardScreen)
        assert app.game.trainer_state is TrainerState.IDLE
        before = _table_ids(screen)

        done = await asyncio.to_thread(realm_cli, realm.root, "quest", "add", str(source), "--wait", str(HANG_S))
        assert done.returncode == 0, done.stdout + done.stderr
        assert "queued" in done.stdout, done.stdout
        added = [r for r in app.game.store.quests.all() if r.id not in before]
        assert len(added) == 1, "applied once, by the game (the store's writer)"
        quest_id = added[0].id
        assert quest_id in done.stdout
        await wait_for(pilot, lambda: quest_id in _table_ids(screen), timeout=HANG_S, what="the new quest shown")
        await wait_for(
            pilot, lambda: any(quest_id in line.text for line in app.game.log), timeout=HANG_S, what="a log line"
        )

        done = await asyncio.to_thread(realm_cli, realm.root, "quest", "cancel", quest_id, "--wait", str(HANG_S))
        assert done.returncode == 0, done.stdout + done.stderr
        assert app.game.store.quests.get(quest_id).state == "cancelled"  # type: ignore[union-attr]


async def test_a_crown_from_another_terminal_and_a_refusal_come_back_from_the_idle_game(
    make_app: Callable[..., RealmApp], realm: RealmPaths
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        done = await asyncio.to_thread(realm_cli, realm.root, "vault", "crown", C1000, "--wait", str(HANG_S))
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"crowned {C1000}" in done.stdout
        champion = app.game.store.ledger.champion("dio-nano-20260101-000000")
        assert champion is not None and champion.name == C1000

        done = await asyncio.to_thread(realm_cli, realm.root, "quest", "cancel", "no-such-quest", "--wait", str(HANG_S))
        assert done.returncode != 0, "a refusal is answered as a refusal, not a timeout"
        assert "no answer within" not in done.stderr, done.stderr
