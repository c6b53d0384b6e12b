"""The Oracle (issue 16): it opens on the campaign's champion (else its latest checkpoint) and says
which, not on the base hero; after a question its right panel shows the prompt the hero was given,
rendered by its chat template, never the raw Jinja template. Pilot at 100×30."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.widgets import DataTable, Input, Select, Static
from ui_testkit import add_tiny_hero
from uiwait import wait_for

from realm_tui.paths import RealmPaths
from realm_tui.services.oracle import oracle_main
from realm_tui.store import Store
from realm_tui.ui.app import RealmApp
from realm_tui.ui.screens.oracle import OracleScreen

pytestmark = pytest.mark.anyio

CHAMPION = "checkpoint-1800-20260101-0400"
LATEST = "checkpoint-2400-20260101-0600"


def status(app: RealmApp) -> str:
    return str(app.screen.query_one("#oracle-status").render())


async def test_the_oracle_opens_on_the_champion_and_says_so(make_app: Callable[..., RealmApp]) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("6")
        await pilot.pause()
        assert isinstance(app.screen, OracleScreen)
        select = app.screen.query_one("#oracle-target", Select)
        assert select.value == CHAMPION
        assert CHAMPION in status(app) and "champion" in status(app)
        select.clear()  # the player picks the base hero: it stays picked
        await pilot.pause()
        app.screen.refresh_view()
        await pilot.pause()
        assert select.is_blank() and "base" in status(app)


async def test_without_a_champion_it_opens_on_the_latest(make_app: Callable[..., RealmApp], realm: RealmPaths) -> None:
    with Store.open(realm.store_file) as store:
        store.ledger.update(CHAMPION, champion=False)
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("6")
        await pilot.pause()
        assert app.screen.query_one("#oracle-target", Select).value == LATEST
        assert "latest checkpoint" in status(app)


@pytest.mark.slow
async def test_the_real_oracle_shows_the_rendered_prompt(make_app: Callable[..., RealmApp], realm: RealmPaths) -> None:
    add_tiny_hero(realm)  # a campaign with no checkpoint yet: the base tiny hero answers
    app = make_app(oracle_target=oracle_main)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("6")
        await pilot.pause()
        assert "base tiny" in status(app)
        prompt = app.screen.query_one("#prompt", Input)
        prompt.focus()
        prompt.value = "1 + 1 ="
        await pilot.press("enter")
        await wait_for(pilot, lambda: "done" in status(app), timeout=180, what="the oracle's answer")
        shown = str(app.screen.query_one("#template", Static).render())
        assert "<|im_start|>user\n1 + 1 =<|im_end|>" in shown, shown
        assert shown.rstrip().endswith("<|im_start|>assistant"), shown
        assert "{%" not in shown and "{{" not in shown, shown  # not the Jinja template
        # Between answers the resident oracle is "ready" in the Jobs panel, not "running" forever.
        app.screen.set_focus(None)  # the prompt has the focus: "2" would be typed into it
        await pilot.press("2")

        def oracle_row() -> list[str]:
            table = app.screen.query_one("#jobs", DataTable)
            rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
            return next((r for r in rows if r[0] == "oracle"), [])

        await wait_for(pilot, lambda: oracle_row()[1:2] == ["ready"], timeout=60, what="the oracle's row")
