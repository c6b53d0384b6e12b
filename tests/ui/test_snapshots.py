"""Snapshots of every screen at 120×40 over the fixture saves (pytest-textual-snapshot).

Regenerate after an intended change: `pytest tests/ui/test_snapshots.py --snapshot-update`.
Times are UTC (conftest), disk space is faked and nothing live runs, so the pictures are stable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from realm_tui.ui.app import RealmApp
from realm_tui.ui.keys import SCREENS

SIZE = (120, 40)


@pytest.mark.parametrize("number", [s.number for s in SCREENS], ids=[s.mode for s in SCREENS])
def test_screen(snap_compare: Any, make_app: Callable[..., RealmApp], number: str) -> None:
    async def show(pilot: Pilot[Any]) -> None:
        await pilot.press(number)
        await pilot.pause()
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=show)


def test_help(snap_compare: Any, make_app: Callable[..., RealmApp]) -> None:
    async def show(pilot: Pilot[Any]) -> None:
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=show)


def test_delete_confirmation(snap_compare: Any, make_app: Callable[..., RealmApp]) -> None:
    async def show(pilot: Pilot[Any]) -> None:
        await pilot.press("4")
        await pilot.pause()
        await pilot.press("down", "down", "d")  # the partial checkpoint at step 2200
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=show)
