"""Junk never trains quietly (issue 11, point 6): a quest that is mostly invalid lands in failed/,
and the Quest Board's details list every rejected line as `file:line: reason`, the same text
`realm quest validate` prints for the kept file."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable

import pytest
from textual.widgets import DataTable, Static
from uiwait import wait_for

from realm_tui.paths import RealmPaths
from realm_tui.ui.app import RealmApp
from realm_tui.ui.screens.quests import QuestBoardScreen

pytestmark = pytest.mark.anyio

PROBLEM = re.compile(r"^\s*(\S.*:\d+: .+ \[(?:schema|content|tokens)\])$")


def junk_quest(n_good: int, bad: list[str]) -> str:
    good = [
        json.dumps({"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}]})
        for i in range(n_good)
    ]
    return "\n".join(good + bad) + "\n"


def validate_cli(realm: RealmPaths, rel: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != "REALM_HOME"}
    out = subprocess.run(
        [sys.executable, "-m", "realm_tui", "--home", str(realm.root), "quest", "validate", rel],
        capture_output=True,
        text=True,
        cwd=realm.root,
        env=env,
        timeout=120,
    )
    assert out.returncode == 2, out.stdout + out.stderr
    return [m[1] for line in out.stdout.splitlines() if (m := PROBLEM.match(line))]


async def test_every_rejected_line_is_in_the_details(make_app: Callable[..., RealmApp], realm: RealmPaths) -> None:
    bad = [
        '{"messages": "not a list"}',
        json.dumps({"messages": [{"role": "assistant", "content": "first"}]}),
        "{broken",
        json.dumps({"messages": [{"role": "user", "content": "q"}, {"role": "user", "content": "again"}]}),
        "[1, 2]",
        json.dumps({"messages": [{"role": "user", "content": "q0"}, {"role": "assistant", "content": "a0"}]}),
        json.dumps({"messages": [{"role": "user", "content": "empty"}, {"role": "assistant", "content": ""}]}),
        "null",
    ]
    dropped = realm.quests / "inbox" / "junk.jsonl"
    dropped.write_text(junk_quest(4, bad))  # 8 of 12 lines invalid: far over the 10 % allowed
    settled = time.time() - 60
    os.utime(dropped, (settled, settled))
    app = make_app(inbox_poll_s=0.2)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("3")
        screen = app.screen
        assert isinstance(screen, QuestBoardScreen)
        await wait_for(pilot, lambda: (realm.quests / "failed" / "junk.jsonl").is_file(), what="rejected")
        assert not list((realm.quests / "queue").rglob("junk*")), "nothing of a junk quest is queued"
        table = screen.query_one("#quest-table", DataTable)
        await wait_for(pilot, lambda: "junk" in [str(table.get_row_at(i)[2]) for i in range(table.row_count)])
        table.move_cursor(row=table.get_row_index("junk"))
        await pilot.pause()
        detail = str(screen.query_one("#quest-detail", Static).render())
    assert "8 of 12 lines invalid" in detail and "rejected lines (8):" in detail
    shown = [line.strip() for line in detail.splitlines() if PROBLEM.match(line.strip())]
    expected = validate_cli(realm, "quests/failed/junk.jsonl")
    assert len(expected) == 8 and shown == expected
    assert any(":6: messages[0].role is assistant; the conversation must start with a user turn" in s for s in shown)
