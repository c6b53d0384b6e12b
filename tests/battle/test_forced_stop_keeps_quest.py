"""Issue 15, point 5, end to end: a forced stop is no fault of the quest. A real headless battle
on a high-priority quest; its trainer child is killed with SIGKILL (from outside, or by the
parent on a second Ctrl-C). The quest stays queued at high priority, in its place before a quest
queued after it, with no attempt counted; the next battle takes it up again."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from battle_kit import make_tiny_realm

from live_battle import LiveBattle
from realm_tui.battle.headless import SAME_INTERRUPT_S
from realm_tui.paths import RealmPaths
from realm_tui.quests.board import Board
from realm_tui.store.snapshot import open_snapshot

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture
def two_quests(tmp_path: Path) -> RealmPaths:
    """The tiny realm with two quests dropped at high priority: `first`, and `second` after it.
    1,024 distinct examples each (128 steps a quest): the kill always lands while `first` runs."""
    realm = make_tiny_realm(tmp_path / "realm")
    (realm.quests / "inbox" / "add.jsonl").unlink()
    high = realm.quests / "inbox" / "high"
    high.mkdir(exist_ok=True)
    lines = []
    for a in range(32):
        for b in range(32):
            messages = [{"role": "user", "content": f"{a:b}+{b:b}="}, {"role": "assistant", "content": f"{a + b:b}"}]
            lines.append(json.dumps({"messages": messages}) + "\n")
    (high / "first.jsonl").write_text("".join(lines))
    (high / "second.jsonl").write_text("".join(reversed(lines)))
    settled = time.time() - 120
    os.utime(high / "first.jsonl", (settled, settled))
    os.utime(high / "second.jsonl", (settled + 10, settled + 10))  # queued after `first`
    return realm


def _board_after(realm: RealmPaths) -> tuple[list[tuple[str, str, str, int, str]], str | None]:
    with open_snapshot(realm) as store:
        board = Board(realm, store)
        rows = [(q.id, q.state, q.priority, q.attempts, q.path) for q in board.quests()]
        queued = [q for q in board.quests() if q.state == "queued"]
    return rows, queued[0].id if queued else None


def _fight_until_training(realm: RealmPaths, tmp_path: Path, name: str) -> tuple[LiveBattle, int]:
    battle = LiveBattle(realm, tmp_path / f"{name}.err", "--steps", "100000").start()
    started = battle.wait_for(lambda e: e["event"] == "QuestStarted", "the quest's start")
    assert started["quest_id"] == "first"
    child = battle.wait_for(lambda e: e["event"] == "Hello", "the trainer's hello")["pid"]
    battle.wait_for(lambda e: e["event"] == "Step", "a first step")
    return battle, child


def _assert_first_kept_its_place(realm: RealmPaths) -> None:
    rows, next_up = _board_after(realm)
    assert rows == [
        ("first", "queued", "high", 0, "quests/queue/high/first.jsonl"),
        ("second", "queued", "high", 0, "quests/queue/high/second.jsonl"),
    ], rows
    assert next_up == "first"


def test_kill_9_of_the_trainer_keeps_the_quests_priority_and_place(two_quests: RealmPaths, tmp_path: Path) -> None:
    battle, child = _fight_until_training(two_quests, tmp_path, "kill9")
    try:
        os.kill(child, signal.SIGKILL)
        assert battle.wait_end() == 1
    finally:
        battle.kill()
    died = [e["message"] for e in battle.events if e["event"] == "Error"]
    assert any("killed by signal 9" in m for m in died), battle.tail()
    assert battle.events[-1]["event"] == "Stopped" and battle.events[-1]["reason"] == "crashed"
    _assert_first_kept_its_place(two_quests)

    # The next battle takes the same quest up again.
    again = LiveBattle(two_quests, tmp_path / "again.err", "--steps", "100000").start()
    try:
        assert again.wait_for(lambda e: e["event"] == "QuestStarted", "the quest's start")["quest_id"] == "first"
    finally:
        again.kill()


def test_a_second_ctrl_c_keeps_the_quests_priority_and_place(two_quests: RealmPaths, tmp_path: Path) -> None:
    battle, child = _fight_until_training(two_quests, tmp_path, "ctrlc")
    try:
        # Freeze the trainer so the first Ctrl-C cannot end the battle gracefully: the second one
        # must force it (the parent SIGKILLs its trainer), whatever the machine's speed.
        os.kill(child, signal.SIGSTOP)
        seen = len(battle.events)
        os.kill(battle.pid, signal.SIGINT)
        battle.wait_for(lambda e: "Ctrl-C again to force" in str(e.get("text", "")), "the first stop's message", seen)
        time.sleep(SAME_INTERRUPT_S + 0.1)  # a second press, not the first one delivered twice
        os.kill(battle.pid, signal.SIGINT)
        assert battle.wait_end() == 1
    finally:
        battle.kill()
    died = [e["message"] for e in battle.events if e["event"] == "Error"]
    assert any("killed by signal 9" in m for m in died), battle.tail()
    _assert_first_kept_its_place(two_quests)
