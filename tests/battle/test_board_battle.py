"""A malformed quest never stops the campaign: the board fails it (moved to quests/failed/ with its
report, never deleted) and the battle trains on the next good quest."""

from __future__ import annotations

import os
import time

from battle_kit import run_json

from realm_tui.paths import RealmPaths
from realm_tui.store import Store


def test_a_malformed_high_priority_quest_is_failed_and_the_battle_trains_the_next(tiny_realm: RealmPaths) -> None:
    broken = tiny_realm.quests / "inbox" / "high" / "broken.jsonl"
    broken.parent.mkdir(parents=True, exist_ok=True)
    content = b'{"messages": [{"role": "user"\n\xff\xfe not json at all\n{"messages": []}\n'
    broken.write_bytes(content)
    settled = time.time() - 60
    os.utime(broken, (settled, settled))

    code, events = run_json(tiny_realm, "--steps", "3")

    assert code == 0, [e for e in events if e["event"] in ("Error", "Stopped")]
    started = next(e for e in events if e["event"] == "QuestStarted")
    assert "add" in started["quest_id"] and started["examples"] > 0
    assert [e["step"] for e in events if e["event"] == "Step"][-1] == 3
    with Store.open(tiny_realm.store_file, readonly=True) as store:
        by_state = {q.state: q for q in store.quests.all()}
    # 3 steps train a few of the add quest's examples: it stays queued, in progress, for the next battle
    assert set(by_state) == {"failed", "queued"}, by_state
    assert 0 < by_state["queued"].report["progress"] < 1
    failed = by_state["failed"]
    assert failed.reasons and "broken.jsonl" in (tiny_realm.root / failed.path).name
    kept = list((tiny_realm.quests / "failed").rglob("broken*.jsonl"))
    assert kept and kept[0].read_bytes() == content, "what the player dropped is moved, never deleted"
