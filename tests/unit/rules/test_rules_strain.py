"""Strain, effort, zones, curriculum hints and level transition records."""

from __future__ import annotations

import math
from functools import reduce

import pytest
from hypothesis import given
from hypothesis import strategies as st

from realm_tui.rules.strain import (
    CurriculumAction,
    LevelMark,
    StrainState,
    StrainTrend,
    StrainZone,
    curriculum_hint,
    efficiency,
    hint_for,
    strain_of,
    strain_trend,
    transition_record,
    update_strain,
    zone_for,
)

ZONE_ORDER = [StrainZone.RECOVERY, StrainZone.PRODUCTIVE, StrainZone.STRETCH, StrainZone.OVERLOAD]


def fold(losses: list[float], floor: float = 0.5, **kw: float) -> StrainState:
    return reduce(lambda s, loss: update_strain(s, loss, floor, **kw), losses, StrainState())  # type: ignore[arg-type]


def test_strain_is_loss_above_floor() -> None:
    assert strain_of(0.8, 0.5) == pytest.approx(0.3)
    assert strain_of(0.3, 0.5) == 0.0
    assert strain_of(math.inf, 0.5) == math.inf
    assert math.isnan(strain_of(math.nan, 0.5))


@pytest.mark.parametrize(
    ("strain", "zone"),
    [
        (0.0, StrainZone.RECOVERY),
        (0.0999, StrainZone.RECOVERY),
        (0.1, StrainZone.PRODUCTIVE),
        (0.2999, StrainZone.PRODUCTIVE),
        (0.3, StrainZone.STRETCH),
        (0.4999, StrainZone.STRETCH),
        (0.5, StrainZone.OVERLOAD),
        (7.0, StrainZone.OVERLOAD),
        (math.inf, StrainZone.OVERLOAD),
        (math.nan, StrainZone.OVERLOAD),
    ],
)
def test_zone_boundaries(strain: float, zone: StrainZone) -> None:
    assert zone_for(strain) is zone


@given(st.floats(min_value=0.0, allow_nan=False), st.floats(min_value=0.0, allow_nan=False))
def test_zone_is_monotone_in_strain(a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert ZONE_ORDER.index(zone_for(low)) <= ZONE_ORDER.index(zone_for(high))


def test_curriculum_hint_table() -> None:
    assert curriculum_hint(StrainZone.OVERLOAD, improving=False, stable=True) == "back_off"
    assert curriculum_hint(StrainZone.OVERLOAD, improving=True, stable=False) == "continue"
    assert curriculum_hint(StrainZone.RECOVERY, improving=False, stable=True) == "level_up"
    assert curriculum_hint(StrainZone.RECOVERY, improving=True, stable=False) == "continue"
    assert curriculum_hint(StrainZone.PRODUCTIVE, improving=False, stable=True) is CurriculumAction.CONTINUE
    assert curriculum_hint(StrainZone.STRETCH, improving=False, stable=False) is CurriculumAction.CONTINUE


@given(st.sampled_from(ZONE_ORDER), st.booleans(), st.booleans())
def test_hint_is_one_of_three(zone: StrainZone, improving: bool, stable: bool) -> None:
    hint = curriculum_hint(zone, improving, stable)
    assert hint in {"back_off", "level_up", "continue"}
    if hint == "back_off":
        assert zone is StrainZone.OVERLOAD and not improving
    if hint == "level_up":
        assert zone is StrainZone.RECOVERY and stable


def test_fold_accumulates_effort_and_tracks_latest() -> None:
    s = fold([0.8, 0.7, 0.4])
    assert s.steps == 3
    assert s.effort == pytest.approx(0.3 + 0.2 + 0.0)
    assert s.strain == 0.0
    assert s.zone is StrainZone.RECOVERY
    assert (s.loss, s.best_loss) == (0.4, 0.4)
    assert s.effort_per_step == pytest.approx(0.5 / 3)
    assert StrainState().zone is None
    assert StrainState().effort_per_step == 0.0


def test_fold_is_immutable() -> None:
    start = StrainState()
    after = update_strain(start, 1.0, 0.5)
    assert start == StrainState()
    assert after.steps == 1


def test_non_finite_losses_are_skipped() -> None:
    s = fold([0.8, math.nan, math.inf, 0.7])
    assert (s.steps, s.skipped) == (2, 2)
    assert s.effort == pytest.approx(0.5)


def test_bad_fold_parameters() -> None:
    with pytest.raises(ValueError):
        update_strain(StrainState(), 1.0, math.nan)
    with pytest.raises(ValueError):
        update_strain(StrainState(), 1.0, 0.5, alpha=0.0)
    with pytest.raises(ValueError):
        update_strain(StrainState(), 1.0, 0.5, window=0)


def test_recent_window_is_bounded() -> None:
    s = fold([1.0] * 20, window=5)
    assert len(s.recent) == 5


def test_productive_streak_counts_and_resets() -> None:
    s = fold([0.7] * 4)  # strain 0.2: productive
    assert s.productive_streak == 4
    assert fold([0.7] * 4 + [2.0]).productive_streak == 0
    assert fold([0.7] * 4 + [2.0, 0.7]).productive_streak == 1


def test_trend_from_strain_rate() -> None:
    assert strain_trend(StrainState()) is StrainTrend.STABLE
    assert strain_trend(fold([2.0 - 0.05 * i for i in range(20)])) is StrainTrend.IMPROVING
    assert strain_trend(fold([1.0 + 0.05 * i for i in range(20)])) is StrainTrend.WORSENING
    assert strain_trend(fold([0.9] * 20)) is StrainTrend.STABLE


def test_hint_for_state() -> None:
    assert hint_for(fold([3.0] * 5)) is CurriculumAction.CONTINUE  # too few samples
    assert hint_for(fold([3.0] * 20)) is CurriculumAction.BACK_OFF  # overload, flat
    assert hint_for(fold([0.52] * 20)) is CurriculumAction.LEVEL_UP  # recovery, flat
    assert hint_for(fold([0.75] * 20)) is CurriculumAction.CONTINUE  # productive
    improving_overload = fold([3.0 - 0.05 * i for i in range(20)])
    assert improving_overload.zone is StrainZone.OVERLOAD
    assert hint_for(improving_overload) is CurriculumAction.CONTINUE


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=40), st.floats(-10, 10))
def test_effort_is_sum_of_finite_strains(losses: list[float], floor: float) -> None:
    s = fold(losses, floor)
    finite = [x for x in losses if math.isfinite(x)]
    assert s.steps == len(finite)
    assert s.effort >= 0.0
    assert s.effort == pytest.approx(sum(max(0.0, x - floor) for x in finite), rel=1e-9, abs=1e-6)


def test_transition_record_gain_and_efficiency() -> None:
    r = transition_record("bin", 2, 3, LevelMark(100, 5.0, 1.2), end_step=600, end_effort=25.0, end_loss=0.7)
    assert r.effort_spent == pytest.approx(20.0)
    assert r.plastic_gain == pytest.approx(0.5)
    assert r.efficiency == pytest.approx(0.025)
    assert r.steps_taken == 500
    assert (r.skill, r.from_level, r.to_level) == ("bin", 2, 3)


def test_transition_record_guards() -> None:
    zero = transition_record("sy", 0, 1, LevelMark(0, 3.0, 1.0), 10, 3.0, 0.5)
    assert zero.effort_spent == 0.0 and zero.efficiency == 0.0
    unknown = transition_record("sy", 0, 1, LevelMark(0, 0.0, None), 10, 2.0, math.nan)
    assert (unknown.start_loss, unknown.end_loss, unknown.plastic_gain, unknown.efficiency) == (
        None,
        None,
        0.0,
        0.0,
    )
    with pytest.raises(ValueError, match="before it began"):
        transition_record("sy", 0, 1, LevelMark(50, 0.0, 1.0), 10, 2.0, 0.5)


@given(st.floats(allow_nan=True, allow_infinity=True), st.floats(allow_nan=True, allow_infinity=True))
def test_efficiency_never_raises(gain: float, effort: float) -> None:
    value = efficiency(gain, effort)
    assert math.isfinite(value) or (math.isfinite(gain) and effort > 0)
