"""A quest too small for the hash split still gets a validation split (issue 11, point 6): a real
battle on a six-line quest from the inbox measures a validation loss, so DEF is not 0."""

from __future__ import annotations

import json
import os
import time

from battle_kit import run_json

from realm_tui.paths import RealmPaths
from realm_tui.rules.stats import stat_from_loss


def test_a_six_line_quest_has_a_validation_loss(tiny_realm: RealmPaths) -> None:
    quest = tiny_realm.quests / "inbox" / "add.jsonl"
    rows = [
        {"messages": [{"role": "user", "content": f"{a:b}+{b:b}="}, {"role": "assistant", "content": f"{a + b:b}"}]}
        for a, b in [(1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12)]
    ]
    quest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    settled = time.time() - 60
    os.utime(quest, (settled, settled))

    code, events = run_json(tiny_realm, "--steps", "5")

    assert code == 0, [e for e in events if e["event"] in ("Error", "Stopped")]
    started = next(e for e in events if e["event"] == "QuestStarted")
    assert started["examples"] == 5  # one of the six is held out
    assert any("held out 1 of 6" in str(e.get("message", "")) for e in events if e["event"] == "Log"), events
    losses = [e["val_loss"] for e in events if e["event"] == "CheckpointSaved"]
    assert losses and all(v is not None and v > 0 for v in losses), losses
    assert stat_from_loss(losses[-1]) > 0  # DEF = round(100 / val loss)
