"""Screens by number and letter, the key list, the status bar, and the binding rules."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.binding import Binding
from textual.widgets import DataTable

from realm_tui.ui.app import SCREEN_CLASSES, RealmApp
from realm_tui.ui.keys import GROUPS, SCREENS, bindings_of
from realm_tui.ui.screens.modals import HelpModal
from realm_tui.ui.widgets.chrome import StatusBar

pytestmark = pytest.mark.anyio


async def test_every_screen_by_number_and_letter(make_app: Callable[..., RealmApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        assert app.current_mode == "tavern"
        for info, cls in zip(SCREENS, SCREEN_CLASSES, strict=True):
            await pilot.press(info.number)
            await pilot.pause()
            assert isinstance(app.screen, cls), info
            await pilot.press("1")
            await pilot.press(info.letter)
            await pilot.pause()
            assert isinstance(app.screen, cls), info.letter


async def test_question_mark_lists_every_binding(make_app: Callable[..., RealmApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpModal)
        table = app.screen.query_one(DataTable)
        ids = {str(table.get_row_at(i)[2]) for i in range(table.row_count)}
        expected = {b.id for _g, group in GROUPS for b in bindings_of(group)}
        assert expected <= ids
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpModal)


@pytest.mark.parametrize("group", [g for g, _ in GROUPS])
def test_every_binding_has_id_description_and_tooltip(group: str) -> None:
    bindings = dict(GROUPS)[group]
    assert all(isinstance(b, Binding) for b in bindings)
    for b in bindings_of(bindings):
        assert b.id and b.description and b.tooltip, b


def test_screen_classes_follow_the_screen_list() -> None:
    assert [c.MODE for c in SCREEN_CLASSES] == [s.mode for s in SCREENS]


def test_binding_ids_are_unique() -> None:
    ids = [b.id for _g, group in GROUPS for b in bindings_of(group)]
    assert len(ids) == len(set(ids))


async def test_status_bar_shows_trainer_state_and_realm(make_app: Callable[..., RealmApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        bar = app.screen.query_one(StatusBar)
        assert "IDLE" in str(bar.render()) and "fixture-realm" in str(bar.render())
