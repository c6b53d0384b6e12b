"""The Quest Board from the keyboard: add a file (with path completion), priorities, cancel,
retry a failed quest and see why it failed, and the inbox picked up without a restart."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, Static
from ui_testkit import chat_lines
from uiwait import Toasts, wait_for

from realm_tui.paths import RealmPaths
from realm_tui.ui.app import RealmApp
from realm_tui.ui.screens.quests import QuestBoardScreen
from realm_tui.ui.widgets.forms import AddQuestForm, PathSuggester

pytestmark = pytest.mark.anyio


async def _board(app: RealmApp, pilot: object) -> QuestBoardScreen:
    await pilot.press("3")  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]
    assert isinstance(app.screen, QuestBoardScreen)
    return app.screen


async def accept_suggestion(pilot: object, field: Input, timeout: float = 60.0) -> None:
    """Press → (accepts the completion at the end of the input) until the value grows."""
    import time

    before, deadline = field.value, time.monotonic() + timeout
    while field.value == before:
        assert time.monotonic() < deadline, f"no completion for {before!r}"
        await pilot.pause(0.05)  # type: ignore[attr-defined]
        await pilot.press("right")  # type: ignore[attr-defined]


def _select(screen: QuestBoardScreen, quest_id: str) -> None:
    table = screen.query_one("#quest-table", DataTable)
    table.move_cursor(row=table.get_row_index(quest_id))


async def test_add_a_file_with_path_completion(make_app: Callable[..., RealmApp], tmp_path: Path) -> None:
    source = tmp_path / "incoming" / "fresh-quest.jsonl"
    source.parent.mkdir()
    source.write_text(chat_lines(10))
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _board(app, pilot)
        await pilot.press("n")
        await pilot.pause()
        path_input = screen.query_one("#quest-path", Input)
        assert path_input.has_focus
        path_input.value = str(tmp_path / "incom")
        await accept_suggestion(pilot, path_input)  # the folder: .../incoming/
        assert path_input.value == str(tmp_path / "incoming") + "/"
        await accept_suggestion(pilot, path_input)  # the one .jsonl in it
        assert path_input.value == str(source)
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: (app.game.realm.quests / "queue/normal/fresh-quest.jsonl").is_file(), what="queued"
        )
        await wait_for(pilot, lambda: not screen.query_one(AddQuestForm).display, what="form closed")
        table = screen.query_one("#quest-table", DataTable)
        assert "fresh-quest" in [str(table.get_row_at(i)[2]) for i in range(table.row_count)]


async def test_suggester_completes_folders_and_jsonl(tmp_path: Path) -> None:
    (tmp_path / "quests").mkdir()
    (tmp_path / "quests" / "a.jsonl").write_text("")
    (tmp_path / "quests" / "b.txt").write_text("")
    suggester = PathSuggester()
    assert await suggester.get_suggestion(str(tmp_path / "que")) == str(tmp_path / "quests") + "/"
    assert await suggester.get_suggestion(str(tmp_path / "quests") + "/") == str(tmp_path / "quests" / "a.jsonl")
    assert await suggester.get_suggestion(str(tmp_path / "nothing")) is None


async def test_refused_file_says_why(make_app: Callable[..., RealmApp], tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(chat_lines(4, bad_every=1))
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        toasts = Toasts(app)
        screen = await _board(app, pilot)
        await pilot.press("n")
        screen.query_one("#quest-path", Input).value = str(bad)
        await pilot.press("enter")
        await wait_for(pilot, lambda: "Not done" in toasts.titles(), what="a refusal")
        assert "no valid example" in toasts.text()
        assert not (app.game.realm.quests / "queue/normal/bad.jsonl").exists()


async def test_priority_cancel_and_retry(make_app: Callable[..., RealmApp], realm: RealmPaths) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _board(app, pilot)
        _select(screen, "warmup")
        await pilot.press("plus")
        await pilot.pause()
        assert (realm.quests / "queue/normal/warmup.jsonl").is_file()
        _select(screen, "warmup")
        await pilot.press("plus")
        await pilot.pause()
        assert (realm.quests / "queue/high/warmup.jsonl").is_file()
        _select(screen, "warmup")
        await pilot.press("minus")
        await pilot.pause()
        assert (realm.quests / "queue/normal/warmup.jsonl").is_file()
        _select(screen, "warmup")
        await pilot.press("c")
        await pilot.pause()
        assert (realm.quests / "failed/warmup.jsonl").is_file()
        assert app.game.store.quests.require("warmup").state == "cancelled"
        _select(screen, "warmup")
        await pilot.press("y")
        await wait_for(pilot, lambda: (realm.quests / "queue/normal/warmup.jsonl").is_file(), what="retried")


async def test_failed_quest_shows_why_and_retry_refuses_while_invalid(
    make_app: Callable[..., RealmApp], realm: RealmPaths
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        toasts = Toasts(app)
        screen = await _board(app, pilot)
        _select(screen, "broken")
        await pilot.pause()
        detail = str(screen.query_one("#quest-detail", Static).render())
        assert "why:" in detail and "messages must be a list" in detail
        await pilot.press("y")
        await wait_for(pilot, lambda: "Not done" in toasts.titles(), what="still invalid")
        assert "still unusable" in toasts.text()
        assert (realm.quests / "failed/broken.jsonl").is_file()
        # Fix the file, retry: it goes back to the queue.
        (realm.quests / "failed/broken.jsonl").write_text(chat_lines(6))
        _select(screen, "broken")
        await pilot.press("y")
        await wait_for(pilot, lambda: (realm.quests / "queue/normal/broken.jsonl").is_file(), what="requeued")


async def test_inbox_is_picked_up_without_restart(make_app: Callable[..., RealmApp], realm: RealmPaths) -> None:
    app = make_app(inbox_poll_s=0.2)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _board(app, pilot)
        (realm.quests / "inbox" / "dropped.jsonl").write_text(chat_lines(5))
        (realm.quests / "inbox" / "garbage.jsonl").write_text("not json\n")
        await wait_for(pilot, lambda: (realm.quests / "queue/normal/dropped.jsonl").is_file(), what="picked up")
        await wait_for(pilot, lambda: (realm.quests / "failed/garbage.jsonl").is_file(), what="rejected")
        table = screen.query_one("#quest-table", DataTable)
        await wait_for(
            pilot,
            lambda: "dropped" in [str(table.get_row_at(i)[2]) for i in range(table.row_count)],
            what="listed",
        )


async def test_quest_in_battle_cannot_move(make_app: Callable[..., RealmApp], realm: RealmPaths) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        toasts = Toasts(app)
        await pilot.press("s")
        await wait_for(pilot, lambda: app.game.trainer_state.busy and app.game.live is not None, what="battle")
        screen = await _board(app, pilot)
        _select(screen, "urgent-bits")
        await pilot.press("c")
        await pilot.pause()
        assert "it is processing" in toasts.text()
        assert (realm.quests / "queue/high/urgent-bits.jsonl").is_file()
        await pilot.press("x")
        await wait_for(pilot, lambda: not app.game.trainer_state.busy, what="stopped")
