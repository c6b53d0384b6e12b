"""Quest checks when a battle is planned (no training): an explicit `--quest` file gets every check
the board makes with the hero's limits, and a board quest edited after intake is not served."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from battle_kit import make_tiny_realm

from realm_tui.battle.setup import plan_battle
from realm_tui.config.realm_config import load_realm_configs
from realm_tui.errors import InputError
from realm_tui.quests.board import board_for
from realm_tui.store import Store


def _line(user: str, answer: str) -> str:
    return json.dumps({"messages": [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]})


def test_an_explicit_quest_is_refused_with_every_problem(tmp_path: Path) -> None:
    realm = make_tiny_realm(tmp_path / "realm")
    configs = load_realm_configs(realm.configs)
    quest = tmp_path / "mine.jsonl"
    too_long = _line("count", " ".join(str(i) for i in range(30)))  # > the tiny hero's 64 tokens (chars)
    quest.write_text("\n".join([_line("1+1=", "10"), _line("1+1=", "10"), too_long]) + "\n")
    with Store.open(realm.store_file) as store:
        with pytest.raises(InputError) as caught:
            plan_battle(realm, configs, store, hero_id="tiny", quest=quest, steps=1)
        assert store.campaigns.all() == [] and store.quests.all() == []  # nothing was written
    message = str(caught.value)
    assert (
        f"{quest}:2: duplicate of line 1" in message and f"{quest}:3:" in message and "over the limit of 64" in message
    )
    assert "realm quest add" in message


def test_a_board_quest_edited_after_intake_is_not_served(tmp_path: Path) -> None:
    realm = make_tiny_realm(tmp_path / "realm")
    configs = load_realm_configs(realm.configs)
    with Store.open(realm.store_file) as store:
        board = board_for(realm, store, configs.hero("tiny"))
        (first,) = board.scan().queued  # the tiny realm's add.jsonl
        (realm.root / first.path).write_text("{oops\n")
        plan = plan_battle(realm, configs, store, hero_id="tiny", steps=1)
        failed = store.quests.require(first.id)
        assert failed.state == "failed" and any("unusable since intake" in r for r in failed.reasons)
        assert plan.quest_id != first.id  # an idle quest was forged (or skills only): never the broken file
        if plan.board_quest:
            assert store.quests.require(plan.quest_id).state == "processing"
