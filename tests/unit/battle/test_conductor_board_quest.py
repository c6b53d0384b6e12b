"""How the conductor settles a board quest when its battle stops: a stop by hand (or a trainer
killed from outside) releases it (no attempt counted), an error the trainer reports retries it at
low priority, bad input naming the quest file fails it for good. A real realm, store and board;
the trainer's events are built by hand (no torch)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from realm_tui.battle.conductor import Conductor
from realm_tui.config.hero import HeroConfig
from realm_tui.config.realm_config import load_realm_configs
from realm_tui.contract.protocol import Error, QuestFinished, QuestStarted, Stopped
from realm_tui.paths import RealmPaths
from realm_tui.quests.board import Board, board_for
from realm_tui.services.init_realm import init_realm
from realm_tui.store import CampaignRecord, QuestRecord, Store


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[RealmPaths, HeroConfig, Store, Board]]:
    realm, _ = init_realm(tmp_path / "realm")
    hero = load_realm_configs(realm.configs).hero("dio-nano")
    with Store.open(realm.store_file) as store:
        store.campaigns.add(CampaignRecord(id="c1", hero_id=hero.id))
        yield realm, hero, store, board_for(realm, store, hero)


def _queue(realm: RealmPaths, board: Board, name: str) -> QuestRecord:
    path = realm.quests / "inbox" / "high" / name
    rows = [
        {"messages": [{"role": "user", "content": f"{i}+1="}, {"role": "assistant", "content": f"{i + 1}"}]}
        for i in range(5)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    settled = time.time() - 60
    os.utime(path, (settled, settled))
    (record,) = board.scan().queued
    return record


def _battle(world: tuple[RealmPaths, HeroConfig, Store, Board], quest: QuestRecord) -> Conductor:
    realm, hero, store, board = world
    board.mark_processing(quest.id)
    return Conductor(store, realm, hero, "c1", quest.id, board_quest=True)


def test_a_stop_by_hand_never_counts_as_an_attempt(world: tuple[RealmPaths, HeroConfig, Store, Board]) -> None:
    realm, _, store, board = world
    quest = _queue(realm, board, "good.jsonl")
    for reason in ["requested", "signal", "requested", "requested", "disk_full"]:  # more stops than retries
        _battle(world, quest).apply(Stopped(3, reason, None))
        record = store.quests.require(quest.id)
        assert (record.state, record.attempts, record.priority) == ("queued", 0, "high"), reason
        assert board.requeue_interrupted() == []  # nothing left processing for the next battle to count
    assert store.quests.require(quest.id).path == quest.path and board.next_quest() == store.quests.require(quest.id)


def test_a_battle_error_retries_at_low_priority(world: tuple[RealmPaths, HeroConfig, Store, Board]) -> None:
    realm, _, store, board = world
    quest = _queue(realm, board, "flaky.jsonl")
    conductor = _battle(world, quest)  # the trainer raised while on the quest, and said so
    conductor.apply(Error("trainer crashed: ValueError: boom", fatal=True, kind="crash"))
    conductor.apply(Stopped(-1, "error"))
    record = store.quests.require(quest.id)
    assert (record.state, record.attempts, record.priority) == ("queued", 1, "low")
    assert record.reasons == ["attempt 1: the battle ended: error"] and record.path.startswith("quests/queue/low/")


def test_a_trainer_killed_from_outside_keeps_the_quests_priority_and_place(
    world: tuple[RealmPaths, HeroConfig, Store, Board],
) -> None:
    # Issue 15: a second Ctrl-C (the parent kills the trainer) or `kill -9` of the trainer is no
    # fault of the quest. The bridge reports such a death as an Error of kind crash + "crashed".
    realm, _, store, board = world
    quest = _queue(realm, board, "innocent.jsonl")
    later = _queue(realm, board, "later.jsonl")
    for _ in range(4):  # more kills than the board's retries
        conductor = _battle(world, quest)
        conductor.apply(Error("the trainer process died (killed by signal 9)", fatal=True, kind="crash"))
        conductor.apply(Stopped(-1, "crashed"))
        record = store.quests.require(quest.id)
        assert (record.state, record.attempts, record.priority) == ("queued", 0, "high")
        assert record.path == quest.path and record.reasons == []
        assert board.next_quest() == record  # still before `later`, queued after it at the same priority
    assert store.quests.require(later.id).state == "queued"


def test_bad_input_naming_the_quest_fails_it_for_good(world: tuple[RealmPaths, HeroConfig, Store, Board]) -> None:
    realm, _, store, board = world
    quest = _queue(realm, board, "edited.jsonl")
    conductor = _battle(world, quest)
    message = f"{board.path_of(quest)}: line 2: not a chat example ('messages')"
    conductor.apply(Error(message, fatal=True, kind="bad_input"))
    conductor.apply(Stopped(0, "error"))
    record = store.quests.require(quest.id)
    assert (record.state, record.attempts) == ("failed", 1) and record.path == "quests/failed/edited.jsonl"
    assert f"the trainer cannot use it: {message}" in record.reasons[0] and "not retried" in record.reasons[-1]


def test_bad_input_elsewhere_leaves_the_quest_waiting(world: tuple[RealmPaths, HeroConfig, Store, Board]) -> None:
    realm, _, store, board = world
    quest = _queue(realm, board, "innocent.jsonl")
    conductor = _battle(world, quest)
    conductor.apply(Error(f"{realm.checkpoints}/step-5: checkpoint is damaged", fatal=True, kind="bad_input"))
    conductor.apply(Stopped(0, "error"))
    record = store.quests.require(quest.id)
    assert (record.state, record.attempts, record.priority) == ("queued", 0, "high")


def test_a_finished_quest_stays_done(world: tuple[RealmPaths, HeroConfig, Store, Board]) -> None:
    realm, _, store, board = world
    quest = _queue(realm, board, "done.jsonl")
    conductor = _battle(world, quest)
    conductor.apply(QuestFinished(quest.id, 10, 0.5))
    conductor.apply(Stopped(10, "finished"))
    record = store.quests.require(quest.id)
    assert (record.state, record.attempts) == ("done", 1)


def test_the_quest_shown_is_the_one_being_fought(world: tuple[RealmPaths, HeroConfig, Store, Board]) -> None:
    """Play-test: a 16-example quest finished at step 1 and the game kept naming it as the quest
    of the 400 steps that followed on the skills alone."""
    realm, _, _, board = world
    quest = _queue(realm, board, "tiny.jsonl")
    conductor = _battle(world, quest)
    assert conductor.state.quest_id == quest.id
    conductor.apply(QuestStarted(quest.id, (quest.path,), 5, 40))
    assert conductor.state.quest_id == quest.id
    conductor.apply(QuestFinished(quest.id, 1, 0.5))
    assert conductor.state.quest_id is None  # the battle goes on with the skills alone
    conductor.apply(QuestStarted("next-one", ("quests/queue/normal/next.jsonl",), 9, 80))
    assert conductor.state.quest_id == "next-one"
