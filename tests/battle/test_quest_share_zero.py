"""`quest_share: 0` with skills to train: the board keeps its quests (a served quest would be marked
done with none of its examples trained); an explicit --quest is still served."""

from __future__ import annotations

from pathlib import Path

import yaml
from battle_kit import make_tiny_realm

from realm_tui.battle.setup import SKILLS_QUEST, plan_battle
from realm_tui.config.realm_config import load_realm_configs
from realm_tui.store import Store


def _zero_share(root: Path):
    realm = make_tiny_realm(root)
    cur_file = realm.configs / "curriculum.yaml"
    curriculum = yaml.safe_load(cur_file.read_text())
    curriculum["quest_share"] = 0.0
    cur_file.write_text(yaml.safe_dump(curriculum))
    return realm


def test_quest_share_zero_leaves_the_board_quest_queued(tmp_path: Path) -> None:
    realm = _zero_share(tmp_path / "realm")
    configs = load_realm_configs(realm.configs)
    with Store.open(realm.store_file) as store:
        plan = plan_battle(realm, configs, store, hero_id="tiny", steps=1)
        assert plan.quest_path is None and plan.quest_id == SKILLS_QUEST and not plan.board_quest
        assert store.quests.all() == [], "the board was not even scanned: the inbox file waits"
    assert (realm.quests / "inbox" / "add.jsonl").is_file()


def test_quest_share_zero_still_serves_an_explicit_quest(tmp_path: Path) -> None:
    realm = _zero_share(tmp_path / "realm")
    configs = load_realm_configs(realm.configs)
    quest = realm.root / "explicit.jsonl"  # without add.jsonl's repeats: an explicit quest passes every check
    lines = (realm.quests / "inbox" / "add.jsonl").read_text().splitlines()
    quest.write_text("\n".join(dict.fromkeys(lines)) + "\n")
    with Store.open(realm.store_file) as store:
        plan = plan_battle(realm, configs, store, hero_id="tiny", quest=quest, steps=1)
    assert plan.quest_path == quest.resolve() and not plan.board_quest
