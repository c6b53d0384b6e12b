"""The keeper's level cap over a real store: the maintenance account, the configured knobs, and
what a regression or a maxed-out verdict records."""

from __future__ import annotations

import pytest
from progression_kit import keeper_for
from pydantic import ValidationError

from realm_tui.battle.progression import MAX_REVIEW_SHARE, ProgressionKeeper
from realm_tui.config.curriculum import CurriculumConfig
from realm_tui.contract.protocol import EvalResult
from realm_tui.rules.notifications import NotificationKind
from realm_tui.store import Store


def evaluate(keeper: ProgressionKeeper, step: int, level: int, accuracy: float) -> list[NotificationKind]:
    outcome = keeper.on_eval(EvalResult(step, "bin", level, accuracy, 20), effort=0.0)
    return [n.kind for n in outcome.notifications]


def train(keeper: ProgressionKeeper, start: int, end: int) -> None:
    for step in range(start + 1, end + 1):
        keeper.record_steps(step, 1)


def test_nothing_mastered_means_no_review_in_the_maintenance_account(store: Store) -> None:
    # The mixer reviews nothing while no level is mastered, so a high review share must not count:
    # before the fix, 0.6 review / 0.4 new = 1.5 > 1.0 maxed out a campaign that mastered nothing.
    keeper = keeper_for(store, review_share=0.6)
    train(keeper, 0, 1500)
    assert evaluate(keeper, 1500, 1, 0.1) == []
    assert store.campaigns.require("c1").status == "active"


def test_a_configured_review_share_above_the_boost_cap_is_kept(store: Store) -> None:
    keeper = keeper_for(store, review_share=0.8)
    keeper.record_level_up("bin", 1, accuracy=0.9, step=0, effort=0.0)
    assert evaluate(keeper, 10, 1, 0.2) == [NotificationKind.REGRESSION]
    # before the fix the boost's cap (0.6) lowered the configured 0.8 once a level regressed
    assert keeper.curriculum_payload()["review_share"] == 0.8 > MAX_REVIEW_SHARE


def test_regression_milestone_records_both_accuracies(store: Store) -> None:
    keeper = keeper_for(store)
    keeper.record_level_up("bin", 1, accuracy=0.9, step=0, effort=0.0)
    evaluate(keeper, 30, 1, 0.25)
    (milestone,) = [m for m in store.campaigns.require("c1").milestones if m["kind"] == "regression"]
    assert milestone == {
        "kind": "regression",
        "skill": "bin",
        "level": 1,
        "step": 30,
        "accuracy": 0.25,
        "mastery_accuracy": 0.9,
    }
    assert store.evals.for_skill("c1", "bin", 1)[0].accuracy == milestone["accuracy"]


def test_record_level_up_writes_the_transition_and_refuses_going_back(store: Store) -> None:
    keeper = keeper_for(store)
    note = keeper.record_level_up("bin", 2, accuracy=0.85, step=7, effort=1.5, loss=0.3)
    assert note.kind is NotificationKind.SKILL_LEVEL_UP
    campaign = store.campaigns.require("c1")
    assert campaign.skill_levels == {"bin": 2} and campaign.peaks["bin_level"] == 2
    assert campaign.transitions[-1] | {"at": 0} == {
        "skill": "bin",
        "from": 0,
        "to": 2,
        "step": 7,
        "accuracy": 0.85,
        "effort": 1.5,
        "loss": 0.3,
        "at": 0,
    }
    with pytest.raises(ValueError, match="already mastered level 2"):
        keeper.record_level_up("bin", 2, accuracy=0.9, step=8, effort=0.0)


def test_the_maintenance_limit_and_its_window_come_from_the_curriculum(store: Store) -> None:
    cap = {"maintenance_limit": 1.0, "costly_level_ups": 5, "window_steps": 10, "min_window_steps": 10}
    keeper = keeper_for(store, review_share=0.25, level_cap=cap)
    keeper.record_level_up("bin", 2, accuracy=0.9, step=0, effort=0.0)
    train(keeper, 0, 30)
    assert evaluate(keeper, 30, 3, 0.0) == []  # 0.25 / 0.75: growing
    assert evaluate(keeper, 31, 2, 0.0) == [NotificationKind.REGRESSION]
    assert evaluate(keeper, 31, 1, 0.0) == []  # level 1 has no recorded mastery accuracy: not judged
    keeper.record_level_up("bin", 3, accuracy=0.9, step=32, effort=0.0)
    assert evaluate(keeper, 33, 3, 0.0) == [NotificationKind.REGRESSION]  # two levels under maintenance
    train(keeper, 31, 38)
    assert evaluate(keeper, 38, 4, 0.0) == []  # the window still holds steps at the old share
    train(keeper, 38, 45)
    assert evaluate(keeper, 45, 4, 0.0) == [NotificationKind.MAXED_OUT]  # 0.55 / 0.45 = 1.22 > 1.0
    campaign = store.campaigns.require("c1")
    assert campaign.status == "maxed_out"
    milestone = campaign.milestones[-1]
    assert milestone["kind"] == "maxed_out" and milestone["step"] == 45
    assert milestone["multiplier"] == pytest.approx(0.55 / 0.45) and "1.22 passed the limit 1.00" in milestone["reason"]


def test_costly_level_ups_knob(store: Store) -> None:
    keeper = keeper_for(store, level_cap={"costly_level_ups": 1})
    keeper.record_level_up("bin", 1, accuracy=0.9, step=0, effort=0.0)
    assert evaluate(keeper, 10, 1, 0.5) == [NotificationKind.REGRESSION, NotificationKind.MAXED_OUT]
    assert store.campaigns.require("c1").milestones[-1]["costly_level_ups"] == 1


def test_level_cap_config_is_checked() -> None:
    assert CurriculumConfig.model_validate({}).level_cap.maintenance_limit == 1.0
    with pytest.raises(ValidationError, match="min_window_steps"):
        CurriculumConfig.model_validate({"level_cap": {"window_steps": 10, "min_window_steps": 20}})
    with pytest.raises(ValidationError, match="costly_level_ups"):
        CurriculumConfig.model_validate({"level_cap": {"costly_level_ups": 0}})
    with pytest.raises(ValidationError, match="limit"):
        CurriculumConfig.model_validate({"level_cap": {"limit": 2.0}})


def test_a_hero_that_masters_each_level_in_three_evals_is_still_re_tested(store: Store) -> None:
    # Before the fix the eval that levelled up reset the count without re-testing, so a hero that
    # passed every level on its third eval was never re-tested and could never be found maxed out.
    keeper = keeper_for(store)
    retests: list[list[tuple[str, int]]] = []
    step = 0
    for level in (1, 2, 3):
        for _ in range(3):
            step += 10
            retests.append(keeper.on_eval(EvalResult(step, "bin", level, 1.0, 20), effort=0.0).retests)
    assert store.campaigns.require("c1").skill_levels == {"bin": 3}
    assert retests == [[], [], [], [], [], [("bin", 1)], [], [], [("bin", 2), ("bin", 1)]]
