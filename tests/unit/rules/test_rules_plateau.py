"""The plateau stop rule (`rules.plateau`): rising, flat, noisy-but-rising, level-up resets."""

from __future__ import annotations

import pytest

from realm_tui.rules.plateau import LevelEval, check_plateau, plateau_notification, skill_plateau


def evals(*accuracies: float, level: int = 1) -> list[LevelEval]:
    return [LevelEval(level, a) for a in accuracies]


def test_rising_never_plateaus() -> None:
    history = evals(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
    for patience in (1, 2, 5):
        state = skill_plateau("bin", history, patience)
        assert not state.plateaued and state.stale == 0 and state.best == pytest.approx(0.7)


def test_flat_plateaus_after_patience_evals_beyond_the_first() -> None:
    assert not skill_plateau("bin", evals(0.5, 0.5, 0.5), 3).plateaued  # two evals did not beat the first
    state = skill_plateau("bin", evals(0.5, 0.5, 0.5, 0.5), 3)
    assert state.plateaued and state.stale == 3 and state.evals == 4


def test_a_worse_score_is_no_improvement() -> None:
    assert skill_plateau("bin", evals(0.6, 0.4, 0.5, 0.55), 3).plateaued


def test_noisy_but_rising_goes_on() -> None:
    # each window of 3 evals holds a new best: it dips, but climbs
    history = evals(0.10, 0.30, 0.20, 0.40, 0.35, 0.50, 0.45, 0.42)
    state = skill_plateau("bin", history, 3)
    assert not state.plateaued and state.stale == 2 and state.best == pytest.approx(0.5)
    assert skill_plateau("bin", [*history, LevelEval(1, 0.49)], 3).plateaued  # then it stalls


def test_level_up_resets_the_count() -> None:
    history = evals(0.8, 0.8, 0.8, 0.8) + evals(0.1, level=2)
    state = skill_plateau("bin", history, 3)
    assert state.level == 2 and state.evals == 1 and not state.plateaued
    assert skill_plateau("bin", history + evals(0.1, 0.1, 0.1, level=2), 3).plateaued


def test_every_trained_skill_must_plateau() -> None:
    flat, rising = evals(0.3, 0.3, 0.3), evals(0.1, 0.2, 0.3)
    assert not check_plateau({"bin": flat, "sy": rising}, 2).plateaued
    verdict = check_plateau({"bin": flat, "sy": evals(0.2, 0.1, 0.2)}, 2)
    assert verdict.plateaued
    assert "over the last 2 evals" in verdict.reason and "BIN L1 best 30%" in verdict.reason
    assert "SY L1 best 20%" in verdict.reason
    note = plateau_notification(verdict)
    assert note.kind == "plateau" and note.body.startswith("Plateau: no training-level accuracy improved")


def test_no_skill_no_plateau_and_patience_is_checked() -> None:
    assert not check_plateau({}, 3).plateaued
    assert not skill_plateau("bin", [], 3).plateaued
    with pytest.raises(ValueError, match="patience"):
        skill_plateau("bin", evals(0.1), 0)
