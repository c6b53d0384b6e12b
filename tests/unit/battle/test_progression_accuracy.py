"""ACC, blessing and champion read the training-level eval, and the champion ranks by mastered levels.

Over a real store: re-tests of mastered levels (run at the same step, right after the training-level
eval) must not stand in for the training level's accuracy."""

from __future__ import annotations

import pytest
from progression_kit import keeper_for

from realm_tui.battle.progression import ProgressionKeeper, SkillRule
from realm_tui.config.curriculum import CurriculumConfig
from realm_tui.contract.protocol import EvalResult
from realm_tui.store import CheckpointRecord, Store


@pytest.fixture
def keeper(store: Store) -> ProgressionKeeper:
    return keeper_for(store)


def evaluate(keeper: ProgressionKeeper, step: int, level: int, accuracy: float) -> None:
    keeper.on_eval(EvalResult(step, "bin", level, accuracy, 20), effort=float(step))


def checkpoint(store: Store, keeper: ProgressionKeeper, name: str, step: int) -> None:
    store.ledger.add(CheckpointRecord(name=name, campaign_id="c1", hero_id="tiny", step=step, path=name, val_loss=1.0))
    keeper.bless_checkpoint(store.ledger.require(name), effort=1.0, verified=True)


def test_a_retest_at_the_same_step_does_not_replace_the_training_level_accuracy(
    store: Store, keeper: ProgressionKeeper
) -> None:
    for step in (10, 20, 30):
        evaluate(keeper, step, 1, 0.97)
    assert store.campaigns.require("c1").skill_levels == {"bin": 1}
    # the level-up eval at step 30 was at the training level (1) of that moment
    assert keeper.accuracy_at(30) == {"bin": 0.97}
    evaluate(keeper, 40, 2, 0.32)
    evaluate(keeper, 40, 1, 0.97)  # re-test of mastered level 1, right after the L2 eval
    assert keeper.accuracy_at(40) == {"bin": 0.32}
    evaluate(keeper, 50, 1, 0.99)  # a re-test alone at a later step: still the L2 eval counts
    assert keeper.accuracy_at(50) == {"bin": 0.32}
    assert keeper.mastered_at(29) == {"bin": 0} and keeper.mastered_at(30) == {"bin": 1}
    assert keeper.mastered_at(30, before=True) == {"bin": 0}


def test_the_champion_moves_to_a_checkpoint_that_mastered_more_levels(store: Store, keeper: ProgressionKeeper) -> None:
    for step in (10, 20, 30):
        evaluate(keeper, step, 1, 0.97)
    checkpoint(store, keeper, "c30", 30)
    assert store.ledger.champion("c1").name == "c30"  # type: ignore[union-attr]
    for step in (40, 50, 60):
        evaluate(keeper, step, 2, 0.9)
    evaluate(keeper, 60, 1, 0.93)  # the re-test due at the level-up (no regression: within 0.10)
    assert store.campaigns.require("c1").skill_levels == {"bin": 2}
    checkpoint(store, keeper, "c60", 60)
    record = store.ledger.require("c60")
    assert record.blessing == "blessed"
    assert keeper.accuracy_at(60) == {"bin": 0.9}
    # 90 % with two levels mastered beats 97 % with one
    assert store.ledger.champion("c1").name == "c60"  # type: ignore[union-attr]


def test_a_campaign_starting_with_levels_trains_above_them(store: Store) -> None:
    store.campaigns.update("c1", skill_levels={"bin": 3})
    config = CurriculumConfig.model_validate({"skills": {"bin": {"weight": 1.0}}})
    keeper = ProgressionKeeper(store, "c1", {"bin": SkillRule(max_level=30)}, config)
    evaluate(keeper, 10, 4, 0.4)
    evaluate(keeper, 10, 3, 0.95)  # a re-test of a level mastered before the campaign
    assert keeper.accuracy_at(10) == {"bin": 0.4}
    assert keeper.mastered_at(10) == {"bin": 3}
