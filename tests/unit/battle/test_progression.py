"""The progression keeper over a real store: level-ups, regressions, maxed-out, blessing, champion."""

from __future__ import annotations

from progression_kit import keeper_for

from realm_tui.battle.progression import ProgressionKeeper
from realm_tui.config.curriculum import CurriculumConfig
from realm_tui.contract.protocol import EvalResult
from realm_tui.rules.notifications import NotificationKind
from realm_tui.store import CheckpointRecord, Store


def evaluate(keeper: ProgressionKeeper, step: int, level: int, accuracy: float) -> list[NotificationKind]:
    outcome = keeper.on_eval(EvalResult(step, "bin", level, accuracy, 20), effort=float(step))
    return [n.kind for n in outcome.notifications]


def test_level_up_needs_three_evals_at_threshold(store: Store) -> None:
    keeper = keeper_for(store)
    assert keeper.curriculum_payload()["skills"]["bin"]["level"] == 1
    assert evaluate(keeper, 100, 1, 0.9) == []
    assert evaluate(keeper, 200, 1, 0.6) == []
    # the mean of 0.9, 0.6, 0.9 is exactly 0.8: that levels up
    assert evaluate(keeper, 300, 1, 0.9) == [NotificationKind.SKILL_LEVEL_UP]
    assert store.campaigns.require("c1").skill_levels == {"bin": 1}
    assert keeper.curriculum_payload()["skills"]["bin"]["level"] == 2
    assert len(store.evals.for_skill("c1", "bin", 1)) == 3


def test_level_up_notification_and_transition(store: Store) -> None:
    keeper = keeper_for(store)
    kinds = [evaluate(keeper, step, 1, 1.0) for step in (10, 20, 30)]
    assert kinds[-1] == [NotificationKind.SKILL_LEVEL_UP]
    transition = store.campaigns.require("c1").transitions[-1]
    assert transition["skill"] == "bin" and transition["to"] == 1 and transition["accuracy"] == 1.0


def test_regression_opens_maintenance_and_recovery_closes_it(store: Store) -> None:
    keeper = keeper_for(store)
    for step in (10, 20, 30):
        evaluate(keeper, step, 1, 0.95)
    base_review = keeper.curriculum_payload()["review_share"]
    assert evaluate(keeper, 40, 1, 0.70) == [NotificationKind.REGRESSION]
    payload = keeper.curriculum_payload()
    assert payload["skills"]["bin"]["maintenance_levels"] == [1] and payload["review_share"] > base_review
    assert evaluate(keeper, 50, 1, 0.70) == []  # already under maintenance: no second alarm
    evaluate(keeper, 60, 1, 0.93)
    assert keeper.curriculum_payload()["skills"]["bin"]["maintenance_levels"] == []


def test_retests_are_requested_for_mastered_levels(store: Store) -> None:
    keeper = keeper_for(store)
    for step in (10, 20, 30):
        evaluate(keeper, step, 1, 1.0)
    retests = []
    for step in (40, 50, 60):
        retests += keeper.on_eval(EvalResult(step, "bin", 2, 0.1, 20), effort=0.0).retests
    assert retests == [("bin", 1)]


def test_level_ups_that_keep_costing_a_mastered_level_max_out_the_campaign(store: Store) -> None:
    keeper = keeper_for(store)
    step = 0
    kinds: list[NotificationKind] = []
    for level in (1, 2, 3):
        for _ in range(3):
            step += 10
            kinds += evaluate(keeper, step, level, 1.0)
        step += 10
        kinds += evaluate(keeper, step, level, 0.5)  # each level-up costs the level just mastered
    assert NotificationKind.MAXED_OUT in kinds
    campaign = store.campaigns.require("c1")
    assert campaign.status == "maxed_out"
    assert any(m.get("kind") == "maxed_out" for m in campaign.milestones)


def test_only_a_blessed_checkpoint_becomes_champion(store: Store) -> None:
    keeper = keeper_for(store)
    store.ledger.add(CheckpointRecord(name="a", campaign_id="c1", hero_id="tiny", step=10, path="a"))
    # no eval at step 10: the eval ritual failed → cursed, no champion
    assert keeper.bless_checkpoint(store.ledger.require("a"), effort=1.0, verified=True) == []
    assert store.ledger.require("a").blessing == "cursed"
    evaluate(keeper, 20, 1, 0.95)
    store.ledger.add(CheckpointRecord(name="b", campaign_id="c1", hero_id="tiny", step=20, path="b"))
    notes = keeper.bless_checkpoint(store.ledger.require("b"), effort=1.0, verified=True)
    assert store.ledger.require("b").blessing == "blessed"
    assert [n.kind for n in notes] == [NotificationKind.NEW_CHAMPION]
    assert store.ledger.champion("c1").name == "b"


def test_quest_only_campaign_leaves_checkpoints_unjudged(store: Store) -> None:
    config = CurriculumConfig.model_validate({"skills": {}})
    keeper = ProgressionKeeper(store, "c1", {}, config)
    store.ledger.add(CheckpointRecord(name="a", campaign_id="c1", hero_id="tiny", step=10, path="a"))
    assert keeper.bless_checkpoint(store.ledger.require("a"), effort=1.0, verified=True) == []
    record = store.ledger.require("a")
    assert record.blessing is None and "unjudged" in record.notes["blessing_reason"]
    assert store.ledger.champion("c1") is None


def test_the_first_retest_waits_for_evals_at_the_new_level(store: Store) -> None:
    keeper = keeper_for(store)
    evaluate(keeper, 10, 1, 0.5)
    evaluate(keeper, 20, 1, 0.5)  # two evals at level 1 without a level-up
    for step in (30, 40, 50):
        evaluate(keeper, step, 1, 1.0)
    assert store.campaigns.require("c1").skill_levels == {"bin": 1}
    retests = [keeper.on_eval(EvalResult(step, "bin", 2, 0.1, 20), effort=0.0).retests for step in (60, 70, 80)]
    assert retests == [[], [], [("bin", 1)]]
