"""Issue #5 audit: the help dialog shows every description whole, the Oracle lists every campaign's
checkpoints, and a battle starting or stopping does not reload the oracle's model."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from rich.text import Text
from textual.widgets import DataTable, Select
from ui_testkit import CAMPAIGN, fake_oracle_main

from realm_tui.config.realm_config import load_realm_configs
from realm_tui.contract.oracle import OracleLoad, OracleLoaded
from realm_tui.paths import RealmPaths
from realm_tui.services.oracle import OracleClient
from realm_tui.store import CampaignRecord, CheckpointRecord, Store
from realm_tui.ui.app import RealmApp
from realm_tui.ui.screens.modals import HelpModal, help_rows
from realm_tui.ui.screens.oracle import OracleScreen

pytestmark = pytest.mark.anyio


def _squash(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("width", [100, 80])
async def test_help_shows_every_description_whole(make_app: Callable[..., RealmApp], width: int) -> None:
    app = make_app()
    async with app.run_test(size=(width, 200)) as pilot:  # tall: every row on screen at once
        await pilot.press("question_mark")
        await pilot.pause()
        await pilot.pause()
        assert isinstance(app.screen, HelpModal)
        table = app.screen.query_one(DataTable)
        assert table.max_scroll_x == 0 and table.max_scroll_y == 0
        key, does = table.ordered_columns[0], table.ordered_columns[1]
        x0 = key.get_render_width(table)
        x1 = x0 + does.get_render_width(table)
        column = " ".join(table.render_line(y).text[x0:x1] for y in range(table.size.height))
        shown = _squash(column)
        for _key, text, _id in help_rows():
            assert _squash(Text.from_markup(text).plain) in shown, f"cut at {width} columns: {text!r}"


def _add_old_campaign(realm: RealmPaths) -> None:
    """What New Game+ leaves behind: an archived campaign with its own checkpoint in the ledger."""
    with Store.open(realm.store_file) as store:
        store.campaigns.add(
            CampaignRecord(id="dio-nano-old", hero_id="dio-nano", name="first run", status="archived", updated_at=5.0)
        )
        store.ledger.add(
            CheckpointRecord(
                name="checkpoint-700-20251201-0100",
                campaign_id="dio-nano-old",
                hero_id="dio-nano",
                step=700,
                path="saves/checkpoints/checkpoint-700-20251201-0100",
            )
        )


async def test_oracle_lists_every_campaigns_checkpoints(make_app: Callable[..., RealmApp], realm: RealmPaths) -> None:
    _add_old_campaign(realm)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("6")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, OracleScreen)
        select = screen.query_one("#oracle-target", Select)
        options = [(str(label), value) for label, value in select._options if isinstance(value, str)]
        values = [value for _label, value in options]
        current = [r.name for r in reversed(app.game.store.ledger.by_campaign(CAMPAIGN))]
        assert values == [*current, "checkpoint-700-20251201-0100"]  # the current campaign first, newest first
        old_label = dict((v, lbl) for lbl, v in options)["checkpoint-700-20251201-0100"]
        assert "first run" in old_label  # labelled with its campaign
        select.value = "checkpoint-700-20251201-0100"
        await pilot.pause()
        assert "checkpoint-700-20251201-0100" in str(screen.query_one("#oracle-status").render())


def test_a_battle_starting_between_questions_does_not_reload(realm: RealmPaths) -> None:
    hero = load_realm_configs(realm.configs).hero("dio-nano")
    load = OracleLoad(hero=hero.model_dump(mode="json"), realm_root=str(realm.root), checkpoint=None, label="base")
    client = OracleClient(fake_oracle_main)  # a real spawned child, with the fake (torch-free) entry point
    try:
        assert client.load(load) is True
        deadline = time.monotonic() + 120  # a hang guard: a spawned child starts slowly on a busy machine
        while not any(isinstance(e, OracleLoaded) for e in client.events(timeout=1.0)):
            assert time.monotonic() < deadline, "the oracle child never said it loaded"
        assert client.load(OracleLoad(**{**load.__dict__, "threads": 2})) is False  # same model, other threads
        assert client.load(OracleLoad(**{**load.__dict__, "label": "other", "checkpoint": "x"})) is True
    finally:
        client.close()
