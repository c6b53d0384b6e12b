"""Issue 15, point 2, in the game: a battle fought inside the TUI applies the requests another
terminal sends (`realm battle pause|resume|stop`) - the same request path as a headless battle.
A real battle of the tiny hero; the CLI runs as a user would, in another process."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable

import pytest
from ui_testkit import add_tiny_hero
from uiwait import wait_for

from cli_kit import realm_cli
from realm_tui.battle.bridge import TrainerBridge
from realm_tui.paths import RealmPaths
from realm_tui.ui.app import RealmApp
from realm_tui.ui.models import TrainerState

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


def _drop_a_long_quest(realm: RealmPaths) -> None:
    """4,096 distinct binary sums at high priority, settled (the inbox takes files left alone)."""
    rows = [
        {"messages": [{"role": "user", "content": f"{a:b}+{b:b}="}, {"role": "assistant", "content": f"{a + b:b}"}]}
        for a in range(64)
        for b in range(64)
    ]
    path = realm.quests / "inbox" / "high" / "long.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    settled = time.time() - 120
    os.utime(path, (settled, settled))


async def test_another_terminal_pauses_resumes_and_stops_the_games_battle(
    make_app: Callable[..., RealmApp], realm: RealmPaths
) -> None:
    add_tiny_hero(realm)
    for short in ("urgent-bits", "sy-drills", "mixed-bag", "warmup"):  # each ends a battle in a few steps
        assert realm_cli(realm.root, "quest", "cancel", short).returncode == 0
    _drop_a_long_quest(realm)
    app = make_app(bridge_factory=TrainerBridge, battle_steps=100000, stop_grace_s=90.0)
    async with app.run_test(size=(120, 40)) as pilot:
        game = app.game
        await pilot.press("s")
        await wait_for(pilot, lambda: game.live is not None and game.live.step >= 2, timeout=120, what="2 steps")
        for verb, state in (("pause", TrainerState.PAUSED), ("resume", TrainerState.TRAINING)):
            done = await asyncio.to_thread(realm_cli, realm.root, "battle", verb, "--wait", "60")
            assert done.returncode == 0, done.stdout + done.stderr
            await wait_for(pilot, lambda s=state: game.trainer_state is s, timeout=60, what=verb)
        done = await asyncio.to_thread(realm_cli, realm.root, "battle", "stop", "--wait", "60")
        assert done.returncode == 0, done.stdout + done.stderr
        await wait_for(pilot, lambda: game.trainer_state is TrainerState.IDLE, timeout=120, what="stopped")
        assert game.store.ledger.by_campaign("tiny-campaign"), "the stop saved a checkpoint"
