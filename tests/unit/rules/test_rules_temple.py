"""The Temple: rituals, blessing quality, verdicts and experience."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from realm_tui.rules.temple import (
    CRITICAL_RITUALS,
    DATA_VALID,
    EVAL_RAN,
    RELOADS,
    RITUALS,
    WEIGHTS_FINITE,
    RitualResult,
    Verdict,
    accuracy_trend,
    bless,
    blessing_quality,
    failed_critical,
    verdict_for,
)

ALL_PASS = [RitualResult(name, True) for name in RITUALS]


def test_ritual_names_are_the_critical_four() -> None:
    assert {WEIGHTS_FINITE, RELOADS, EVAL_RAN, DATA_VALID} == CRITICAL_RITUALS == set(RITUALS)
    assert RitualResult(RELOADS, True).is_critical
    assert not RitualResult("disk_space", True).is_critical
    assert RitualResult("disk_space", True, critical=True).is_critical


def test_quality_formula() -> None:
    # 0.6 * 0.9 + 0.2 * 1.0 + 0.2 * (0 + 1) / 2 = 0.84
    assert blessing_quality({"bin": 0.9, "sy": 0.9}, 0.0) == pytest.approx(0.84)
    # one skill unevaluated: coverage 0.5, mean 0.8; trend 1 → 0.48 + 0.1 + 0.2
    assert blessing_quality({"bin": 0.8, "sy": None}, 1.0) == pytest.approx(0.78)
    assert blessing_quality({}, -1.0) == 0.0
    assert blessing_quality({"bin": 1.0}, 5.0) == pytest.approx(1.0)  # trend clamped
    assert blessing_quality({"bin": 1.0}, math.nan) == pytest.approx(0.9)


@pytest.mark.parametrize(
    ("quality", "verdict"),
    [
        (1.0, Verdict.BLESSED),
        (0.8, Verdict.BLESSED),
        (0.79, Verdict.PARTIAL),
        (0.4, Verdict.PARTIAL),
        (0.39, Verdict.CURSED),
        (0.0, Verdict.CURSED),
        (math.nan, Verdict.CURSED),
    ],
)
def test_verdict_thresholds(quality: float, verdict: Verdict) -> None:
    assert verdict_for(quality) is verdict


def test_blessed_checkpoint_gets_full_experience() -> None:
    b = bless(ALL_PASS, {"bin": 1.0, "sy": 1.0}, trend=1.0, effort=100.0)
    assert b.verdict is Verdict.BLESSED and b.blessed
    assert b.quality == pytest.approx(1.0)
    assert b.experience == pytest.approx(100.0)
    assert b.failed_rituals == ()


def test_partial_blessing_reduces_experience() -> None:
    b = bless(ALL_PASS, {"bin": 0.5, "sy": 0.5}, trend=0.0, effort=10.0)
    assert b.verdict == "partial"
    assert b.quality == pytest.approx(0.6)
    assert b.experience == pytest.approx(6.0)


def test_low_quality_is_cursed_with_no_experience() -> None:
    b = bless(ALL_PASS, {"bin": 0.0, "sy": None}, trend=-1.0, effort=10.0)
    assert b.verdict is Verdict.CURSED
    assert b.quality == pytest.approx(0.1)
    assert b.experience == 0.0


def test_failed_critical_ritual_curses() -> None:
    rituals = [*ALL_PASS[:-1], RitualResult(DATA_VALID, False, "bad json on line 3")]
    b = bless(rituals, {"bin": 1.0}, trend=1.0, effort=50.0)
    assert (b.verdict, b.quality, b.experience) == (Verdict.CURSED, 0.0, 0.0)
    assert b.failed_rituals == (DATA_VALID,)
    assert DATA_VALID in b.reason


def test_missing_critical_ritual_curses() -> None:
    b = bless(ALL_PASS[:2], {"bin": 1.0}, trend=1.0, effort=50.0)
    assert b.verdict is Verdict.CURSED
    assert b.failed_rituals == (EVAL_RAN, DATA_VALID)


def test_failed_non_critical_ritual_does_not_curse_but_custom_critical_does() -> None:
    ok = bless([*ALL_PASS, RitualResult("disk_space", False)], {"bin": 1.0}, 1.0, 1.0)
    assert ok.blessed
    assert failed_critical([*ALL_PASS, RitualResult("gpu_ok", False, critical=True)]) == ("gpu_ok",)


def test_a_duplicate_failure_counts() -> None:
    assert failed_critical([*ALL_PASS, RitualResult(RELOADS, False)]) == (RELOADS,)


@pytest.mark.parametrize("effort", [-1.0, math.nan, math.inf])
def test_bad_effort_raises(effort: float) -> None:
    with pytest.raises(ValueError, match="effort"):
        bless(ALL_PASS, {"bin": 1.0}, 0.0, effort)


def test_accuracy_trend() -> None:
    assert accuracy_trend(0.5, 0.6) == pytest.approx(0.5)
    assert accuracy_trend(0.5, 0.1) == -1.0
    assert accuracy_trend(None, 0.5) == 0.0
    assert accuracy_trend(0.5, math.nan) == 0.0
    with pytest.raises(ValueError):
        accuracy_trend(0.1, 0.2, full_scale=0.0)


@given(
    st.dictionaries(st.sampled_from(["bin", "sy", "x"]), st.one_of(st.none(), st.floats())),
    st.floats(),
    st.floats(0.0, 1e6),
    st.lists(st.tuples(st.sampled_from([*RITUALS, "extra"]), st.booleans()), max_size=8),
)
def test_blessing_invariants(
    accs: dict[str, float | None], trend: float, effort: float, rituals: list[tuple[str, bool]]
) -> None:
    results = [RitualResult(n, p) for n, p in rituals]
    b = bless(results, accs, trend, effort)
    assert 0.0 <= b.quality <= 1.0
    assert 0.0 <= b.experience <= effort + 1e-9
    assert b.verdict is verdict_for(b.quality) or b.failed_rituals
    if b.verdict is Verdict.CURSED:
        assert b.experience == 0.0
    else:
        assert b.experience == pytest.approx(effort * b.quality)
