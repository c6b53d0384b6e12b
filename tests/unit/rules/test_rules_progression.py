"""Skill levels, regressions, the maintenance multiplier and the maxed-out verdict."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from realm_tui.rules.progression import (
    LevelTransition,
    ProgressEvent,
    RecoveryEvent,
    Regression,
    RegressionEvent,
    StepMix,
    check_maxed_out,
    costly_level_up_streak,
    decide_level_up,
    detect_regressions,
    is_skill_complete,
    maintenance_multiplier,
    maintenance_over_window,
    training_level,
)


def test_training_level_is_mastered_plus_one_capped() -> None:
    assert training_level(0, 30) == 1
    assert training_level(7, 30) == 8
    assert training_level(30, 30) == 30
    assert not is_skill_complete(29, 30)
    assert is_skill_complete(30, 30)
    with pytest.raises(ValueError):
        training_level(-1, 30)
    with pytest.raises(ValueError):
        training_level(0, 0)


def test_no_level_up_before_min_evals() -> None:
    d = decide_level_up([1.0, 1.0])
    assert not d.level_up
    assert (d.count, d.evals_missing, d.needed) == (2, 1, 0.8)
    assert d.mean == pytest.approx(1.0)


def test_level_up_on_mean_of_last_three() -> None:
    d = decide_level_up([0.1, 0.2, 0.8, 0.8, 0.8])
    assert d.level_up
    assert d.mean == pytest.approx(0.8)
    assert d.evals_missing == 0


def test_old_evals_do_not_count() -> None:
    assert not decide_level_up([1.0, 1.0, 1.0, 0.5, 0.6, 0.7]).level_up


def test_empty_history() -> None:
    d = decide_level_up([])
    assert (d.level_up, d.mean, d.count) == (False, None, 0)


def test_custom_threshold_and_min_evals() -> None:
    assert decide_level_up([0.6], threshold=0.5, min_evals=1).level_up
    assert not decide_level_up([0.9, 0.9, 0.9, 0.4, 0.9], threshold=0.9, min_evals=5).level_up


def test_non_finite_evals_ignored_and_values_clamped() -> None:
    d = decide_level_up([math.nan, 1.5, 1.0, math.inf, 0.9])
    assert d.count == 3
    assert d.mean == pytest.approx((1.0 + 1.0 + 0.9) / 3)


@pytest.mark.parametrize("kw", [{"min_evals": 0}, {"threshold": 1.1}, {"threshold": -0.1}])
def test_bad_decision_parameters(kw: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        decide_level_up([0.9], **kw)  # type: ignore[arg-type]


@given(st.lists(st.floats(0.0, 1.0), max_size=20), st.integers(1, 6), st.floats(0.0, 1.0))
def test_level_up_iff_enough_and_mean_reaches_threshold(evals: list[float], k: int, threshold: float) -> None:
    d = decide_level_up(evals, threshold=threshold, min_evals=k)
    if len(evals) < k:
        assert not d.level_up
    else:
        assert d.level_up == (sum(evals[-k:]) / k >= threshold - 1e-9)


def test_regression_needs_more_than_tolerance_drop() -> None:
    mastery = {1: 0.9, 2: 0.85, 3: 0.8, 4: 0.95}
    latest = {1: 0.8, 2: 0.70, 3: 0.7, 4: 0.95}
    found = detect_regressions(mastery, latest, skill="bin")
    assert found == [Regression("bin", 2, 0.85, 0.70)]
    assert found[0].drop == pytest.approx(0.15)


def test_exactly_tolerance_drop_is_not_regression_despite_float_noise() -> None:
    # 0.8 - 0.7 == 0.10000000000000009 in floating point
    assert detect_regressions({3: 0.8}, {3: 0.7}) == []
    assert detect_regressions({3: 0.8}, {3: 0.6999}) != []


def test_regression_skips_missing_and_non_finite() -> None:
    assert detect_regressions({1: 0.9, 2: math.nan, 3: 0.9}, {2: 0.1, 3: math.nan}) == []


def test_regression_sorted_by_level_and_custom_tolerance() -> None:
    found = detect_regressions({5: 1.0, 2: 1.0}, {5: 0.9, 2: 0.96, 3: 0.5}, tolerance=0.05)
    assert [r.level for r in found] == [5]
    with pytest.raises(ValueError):
        detect_regressions({}, {}, tolerance=-0.1)


def test_maintenance_multiplier() -> None:
    assert maintenance_multiplier(50, 100) == 0.5
    assert maintenance_multiplier(0, 0) == 0.0
    assert maintenance_multiplier(10, 0) == math.inf
    with pytest.raises(ValueError):
        maintenance_multiplier(-1, 10)


def test_maintenance_over_window_uses_latest_steps() -> None:
    mixes = [StepMix(100, review=100, new_level=0), StepMix(900, 10, 40), StepMix(1000, 30, 20)]
    mult, review, new = maintenance_over_window(mixes, window_steps=500)
    assert (review, new) == (40, 60)
    assert mult == pytest.approx(40 / 60)
    assert maintenance_over_window([], 100) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError):
        maintenance_over_window(mixes, 0)


def up(step: int, skill: str = "bin", to: int = 1) -> LevelTransition:
    return LevelTransition(step, skill, to - 1, to)


def reg(step: int, skill: str = "sy", level: int = 1) -> RegressionEvent:
    return RegressionEvent(step, skill, level)


def test_costly_streak_counts_latest_level_ups_followed_by_regression() -> None:
    assert costly_level_up_streak([]) == 0
    assert costly_level_up_streak([reg(5), up(10)]) == 0
    assert costly_level_up_streak([up(10), reg(20)]) == 1
    assert costly_level_up_streak([up(10), reg(20), up(30), reg(35), reg(36)]) == 2
    assert costly_level_up_streak([up(10), reg(20), up(30), up(40), reg(45)]) == 1
    # events are ordered by step, whatever order they come in
    assert costly_level_up_streak([reg(35), up(30), reg(20), up(10)]) == 2


def test_not_maxed_out_while_growing() -> None:
    v = check_maxed_out([up(10), up(20)], review_steps=200, new_level_steps=800)
    assert not v.maxed_out
    assert v.multiplier == pytest.approx(0.25)
    assert "Still growing" in v.reason


def test_maxed_out_by_multiplier() -> None:
    v = check_maxed_out([], review_steps=1200, new_level_steps=800, limit=1.0)
    assert v.maxed_out
    assert "multiplier 1.50" in v.reason


def test_multiplier_at_limit_is_not_maxed_out() -> None:
    assert not check_maxed_out([], review_steps=600, new_level_steps=600).maxed_out


def test_small_window_does_not_judge_multiplier() -> None:
    assert not check_maxed_out([], review_steps=50, new_level_steps=0).maxed_out
    assert check_maxed_out([], review_steps=50, new_level_steps=0, min_window_steps=10).maxed_out


def test_maxed_out_by_costly_level_ups() -> None:
    events: list[ProgressEvent] = [up(10), reg(20), up(30, "sy"), reg(40, "bin", 1)]
    v = check_maxed_out(events, review_steps=0, new_level_steps=2000)
    assert v.maxed_out
    assert v.costly_level_ups == 2
    assert "last 2 level-ups" in v.reason
    one = check_maxed_out(events[:3], review_steps=0, new_level_steps=2000)
    assert not one.maxed_out
    assert "1 costly" in check_maxed_out(events[:2], 0, 2000).reason
    assert not check_maxed_out(events, 0, 2000, costly_limit=3).maxed_out
    with pytest.raises(ValueError):
        check_maxed_out(events, 0, 0, costly_limit=0)


def rec(step: int, skill: str = "sy", level: int = 1) -> RecoveryEvent:
    return RecoveryEvent(step, skill, level)


def test_a_recovered_regression_does_not_make_its_level_up_costly() -> None:
    # the cap bench's campaign: L1 dipped after its level-up, recovered, then L2 dipped after its own
    bench = [up(117), reg(220, "bin", 1), rec(298, "bin", 1), up(384, to=2), reg(518, "bin", 2)]
    assert costly_level_up_streak(bench) == 1
    assert not check_maxed_out(bench, review_steps=92, new_level_steps=427).maxed_out
    # recovered only after the next level-up: the hero moved on with the level lost, it was costly
    late = [up(10), reg(20), up(30, to=2), rec(35), reg(40, "bin", 2)]
    assert costly_level_up_streak(late) == 2
    # the latest level-up's regression that has since recovered no longer counts
    assert costly_level_up_streak([up(10), reg(20), up(30, to=2), reg(40, "bin", 2), rec(50, "bin", 2)]) == 0
    # a recovery of another level does not close this one
    assert costly_level_up_streak([up(10), reg(20, "bin", 1), rec(25, "bin", 2)]) == 1
