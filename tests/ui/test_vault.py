"""The Vault from the keyboard: crown a champion, delete with a confirmation (never the champion
or the latest), export a Hugging Face folder, disk usage and retention."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.widgets import DataTable, Static
from uiwait import Toasts, wait_for

from realm_tui.paths import RealmPaths
from realm_tui.ui.app import RealmApp
from realm_tui.ui.screens.modals import ConfirmModal
from realm_tui.ui.screens.vault import VaultScreen

C1000, C1800, C2200, C2400 = (
    "checkpoint-1000-20260101-0300",
    "checkpoint-1800-20260101-0400",
    "checkpoint-2200-20260101-0500",
    "checkpoint-2400-20260101-0600",
)

pytestmark = pytest.mark.anyio


async def _vault(app: RealmApp, pilot: object) -> VaultScreen:
    await pilot.press("4")  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]
    assert isinstance(app.screen, VaultScreen)
    return app.screen


def _select(screen: VaultScreen, name: str) -> None:
    table = screen.query_one("#vault-table", DataTable)
    table.move_cursor(row=table.get_row_index(name))


async def test_lists_the_ledger_with_marks_disk_and_retention(make_app: Callable[..., RealmApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _vault(app, pilot)
        table = screen.query_one("#vault-table", DataTable)
        rows = [table.get_row_at(i) for i in range(table.row_count)]
        assert [str(r[1]) for r in rows] == [C2400, C2200, C1800, C1000]  # newest first
        marks = {str(r[1]): str(r[0]) for r in rows}
        assert marks[C1800] == "★" and marks[C2400] == "◆"
        disk = str(screen.query_one("#vault-disk", Static).render())
        assert "123.0 GiB" in disk and "keeps the champion and the latest 3" in disk
        await pilot.press("u")
        await pilot.pause()


async def test_promote_a_blessed_checkpoint_and_refuse_an_unjudged_one(make_app: Callable[..., RealmApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        toasts = Toasts(app)
        screen = await _vault(app, pilot)
        _select(screen, C2400)
        await pilot.press("c")
        await pilot.pause()
        assert "only a blessed checkpoint" in toasts.text()
        _select(screen, C1000)
        await pilot.press("c")
        await wait_for(pilot, lambda: "New champion!" in toasts.titles(), what="new champion toast")
        champion = app.game.store.ledger.champion("dio-nano-20260101-000000")
        assert champion is not None and champion.name == C1000


async def test_delete_asks_first_and_never_the_champion_or_latest(
    make_app: Callable[..., RealmApp], realm: RealmPaths
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        toasts = Toasts(app)
        screen = await _vault(app, pilot)
        for protected, why in ((C1800, "is the champion"), (C2400, "is the latest")):
            _select(screen, protected)
            await pilot.press("d")
            await pilot.pause()
            assert not isinstance(app.screen, ConfirmModal)
            assert why in toasts.text()
        _select(screen, C2200)
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("n")  # changed my mind
        await pilot.pause()
        assert app.game.store.ledger.get(C2200) is not None
        _select(screen, C2200)
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("y")
        await wait_for(pilot, lambda: app.game.store.ledger.get(C2200) is None, what="deleted")
        assert not (realm.checkpoints / C2200).exists()


async def test_export_copies_a_hugging_face_folder(make_app: Callable[..., RealmApp], realm: RealmPaths) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        toasts = Toasts(app)
        screen = await _vault(app, pilot)
        _select(screen, C1800)
        await pilot.press("e")
        target = realm.saves / "exports" / C1800
        await wait_for(pilot, lambda: "Export" in toasts.titles(), what="export done")
        assert sorted(p.name for p in target.iterdir()) == ["config.json", "model.safetensors"]
        await pilot.press("e")  # a second export refuses to overwrite
        await wait_for(pilot, lambda: "exists already" in toasts.text(), what="refusal")
