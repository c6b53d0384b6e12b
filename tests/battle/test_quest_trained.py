"""`realm train --no-ui --steps N`: N steps of this battle; a quest finishes (gold, "quest
finished") only when its examples were trained, with the steps it took; else it stays in progress.
The gold it paid is the one number the rules, the TUI and the CLI show."""

from __future__ import annotations

import json
import math

import yaml
from battle_kit import run_json

from cli_kit import realm_cli
from realm_tui.config.realm_config import load_realm_configs
from realm_tui.paths import RealmPaths
from realm_tui.rules.rewards import campaign_gold
from realm_tui.services.records import read_progress
from realm_tui.store import Store
from realm_tui.ui.views import build_hero_sheet


def _quest_only(realm: RealmPaths) -> None:
    path = realm.configs / "curriculum.yaml"
    curriculum = yaml.safe_load(path.read_text())
    for skill in curriculum["skills"].values():
        skill["enabled"] = False
    curriculum["quest_share"] = 1.0
    path.write_text(yaml.safe_dump(curriculum))


def _write_quest(realm: RealmPaths, name: str, n: int) -> None:
    rows = [
        {"messages": [{"role": "user", "content": f"{i:b}+1="}, {"role": "assistant", "content": f"{i + 1:b}"}]}
        for i in range(n)
    ]
    (realm.root / name).write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_steps_5_on_a_1000_example_quest_leaves_it_in_progress(tiny_realm: RealmPaths) -> None:
    _write_quest(tiny_realm, "big.jsonl", 1000)
    code, events = run_json(tiny_realm, "--steps", "5", "--quest", str(tiny_realm.root / "big.jsonl"))
    assert code == 0
    steps = [e["step"] for e in events if e["event"] == "Step"]  # throttled: not every step is sent
    assert steps[-1] == 5 and all(1 <= s <= 5 for s in steps)
    assert not [e for e in events if e["event"] == "QuestFinished"]
    assert not [e for e in events if e["event"] == "Notification" and "gold" in e["text"]]
    assert any(e["event"] == "Log" and "quest big in progress" in e["message"] for e in events)
    with Store.open(tiny_realm.store_file, readonly=True) as store:
        campaign = store.campaigns.active("tiny")
        assert campaign is not None and campaign.gold == 0 and campaign.quests_completed == 0
        quest = store.quests.require("big")
        assert quest.state != "done" and 0 < quest.report["progress"] < 0.1
        first = quest.report["progress"]

    # --steps counts this battle's steps: 5 more, from step 5
    code, events = run_json(tiny_realm, "--steps", "5", "--quest", str(tiny_realm.root / "big.jsonl"))
    steps = [e["step"] for e in events if e["event"] == "Step"]
    assert steps[-1] == 10 and all(6 <= s <= 10 for s in steps)
    with Store.open(tiny_realm.store_file, readonly=True) as store:
        second = store.quests.require("big").report["progress"]
    assert 1.5 * first < second < 0.2  # it continued from where the first battle left it


def test_a_small_quest_finishes_with_the_steps_it_trained(tiny_realm: RealmPaths) -> None:
    _quest_only(tiny_realm)
    _write_quest(tiny_realm, "small.jsonl", 40)
    code, events = run_json(tiny_realm, "--steps", "50", "--quest", str(tiny_realm.root / "small.jsonl"))
    assert code == 0
    examples = next(e["examples"] for e in events if e["event"] == "QuestStarted")
    (finished,) = [e for e in events if e["event"] == "QuestFinished"]
    assert finished["steps"] == math.ceil(examples / 8)  # batch 8, quest only
    steps = [e["step"] for e in events if e["event"] == "Step"]
    assert steps[-1] == finished["steps"]  # nothing else to train: the battle ends with the quest
    notes = [e["text"] for e in events if e["event"] == "Notification"]
    assert any("+100 gold" in text for text in notes)
    with Store.open(tiny_realm.store_file, readonly=True) as store:
        campaign = store.campaigns.active("tiny")
        assert campaign is not None and campaign.gold == 100 and campaign.quests_completed == 1
        assert store.quests.require("small").state == "done"
        # one gold everywhere: the rule, the TUI's hero sheet, `realm campaign show`
        assert campaign_gold(campaign) == 100
        assert build_hero_sheet(load_realm_configs(tiny_realm.configs), read_progress(store, "tiny")).stats.gold == 100
    shown = realm_cli(tiny_realm.root, "campaign", "show")
    assert shown.returncode == 0 and "gold 100;" in shown.stdout, shown.stdout + shown.stderr
