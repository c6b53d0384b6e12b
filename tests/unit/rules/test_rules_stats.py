"""Hero stats: XP, level, ATK/DEF from losses, ACC, gold, and the loss EMA."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from realm_tui.rules.stats import STAT_CAP, HeroStats, compute_stats, ema, mean_accuracy, stat_from_loss


def stats(**kw: object) -> HeroStats:
    args: dict[str, object] = {
        "steps": 0,
        "train_loss_ema": None,
        "val_loss": None,
        "latest_accuracy_by_skill": {},
        "quests_completed": 0,
        "skill_levels_gained": 0,
    }
    args.update(kw)
    return compute_stats(**args)  # type: ignore[arg-type]


def test_fresh_hero_has_zero_everything() -> None:
    s = stats()
    assert s == HeroStats(xp=0, level=0, xp_into_level=0, xp_for_next=1000, atk=0, defense=0, acc=0.0, gold=0)
    assert s.level_progress == 0.0


@pytest.mark.parametrize(
    ("steps", "level", "into", "left"),
    [(999, 0, 999, 1), (1000, 1, 0, 1000), (2500, 2, 500, 500), (10_001, 10, 1, 999)],
)
def test_level_is_steps_over_thousand(steps: int, level: int, into: int, left: int) -> None:
    s = stats(steps=steps)
    assert (s.xp, s.level, s.xp_into_level, s.xp_for_next) == (steps, level, into, left)


def test_steps_per_level_is_per_hero() -> None:
    s = stats(steps=250, steps_per_level=100)
    assert (s.level, s.xp_into_level, s.xp_for_next) == (2, 50, 50)
    assert s.level_progress == pytest.approx(0.5)


def test_atk_and_def_are_hundred_over_loss() -> None:
    s = stats(train_loss_ema=0.5, val_loss=0.8)
    assert (s.atk, s.defense) == (200, 125)
    assert stats(train_loss_ema=3.0).atk == 33


@pytest.mark.parametrize("loss", [None, math.nan, math.inf, -math.inf, -1.0])
def test_bad_losses_give_zero(loss: float | None) -> None:
    assert stat_from_loss(loss) == 0


@pytest.mark.parametrize("loss", [0.0, 1e-12, 1e-300, 5e-324])
def test_zero_or_tiny_loss_is_capped(loss: float) -> None:
    assert stat_from_loss(loss) == STAT_CAP == 100_000


def test_acc_is_mean_over_evaluated_skills() -> None:
    assert stats(latest_accuracy_by_skill={"bin": 0.9, "sy": 0.5}).acc == pytest.approx(0.7)
    assert stats(latest_accuracy_by_skill={"bin": 0.9, "sy": None}).acc == pytest.approx(0.9)
    assert mean_accuracy({"bin": math.nan, "sy": 1.5, "x": -0.5}) == pytest.approx(0.5)
    assert mean_accuracy({}) == 0.0


def test_gold_from_quests_and_skill_levels() -> None:
    assert stats(quests_completed=3, skill_levels_gained=2).gold == 400
    assert stats(quests_completed=1, skill_levels_gained=1, gold_per_quest=10, gold_per_skill_level=0).gold == 10


@pytest.mark.parametrize(
    "kw",
    [{"steps": -1}, {"quests_completed": -1}, {"skill_levels_gained": -2}, {"steps_per_level": 0}],
)
def test_impossible_counts_raise(kw: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        stats(**kw)


@given(
    steps=st.integers(0, 10**9),
    loss=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
    val=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
    accs=st.dictionaries(st.text(max_size=3), st.one_of(st.none(), st.floats())),
)
def test_stats_never_raise_on_any_loss(
    steps: int, loss: float | None, val: float | None, accs: dict[str, float | None]
) -> None:
    s = stats(steps=steps, train_loss_ema=loss, val_loss=val, latest_accuracy_by_skill=accs)
    assert 0 <= s.atk <= STAT_CAP and 0 <= s.defense <= STAT_CAP
    assert 0.0 <= s.acc <= 1.0
    assert s.level * 1000 + s.xp_into_level == steps
    assert 0 < s.xp_for_next <= 1000


@given(st.floats(min_value=1e-3, max_value=1e6), st.floats(min_value=1e-3, max_value=1e6))
def test_lower_loss_never_means_lower_atk(a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert stat_from_loss(low) >= stat_from_loss(high)


def test_ema_starts_with_first_value_and_smooths() -> None:
    assert ema(None, 2.0, 0.1) == 2.0
    assert ema(2.0, 1.0, 0.5) == pytest.approx(1.5)
    assert ema(2.0, 1.0, 1.0) == 1.0


def test_ema_skips_non_finite_values() -> None:
    assert ema(2.0, math.nan, 0.1) == 2.0
    assert ema(None, math.inf, 0.1) is None
    assert ema(math.nan, 3.0, 0.1) == 3.0


@pytest.mark.parametrize("alpha", [0.0, -0.1, 1.5, math.nan])
def test_ema_rejects_bad_alpha(alpha: float) -> None:
    with pytest.raises(ValueError, match="alpha"):
        ema(1.0, 1.0, alpha)


@given(
    st.lists(st.floats(min_value=0.0, max_value=100.0), min_size=1, max_size=30),
    st.floats(min_value=0.01, max_value=1.0),
)
def test_ema_stays_within_seen_range(values: list[float], alpha: float) -> None:
    avg: float | None = None
    for v in values:
        avg = ema(avg, v, alpha)
    assert avg is not None
    assert min(values) - 1e-9 <= avg <= max(values) + 1e-9
