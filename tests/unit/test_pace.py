"""The battle's ETA follows the recent pace, not the battle's mean (issue 11 play-test: the game
said 5m33s where 18 minutes were left once steps got dearer)."""

from __future__ import annotations

import pytest

from realm_tui.trainer.pace import Pace


def test_no_eta_before_two_steps() -> None:
    pace = Pace()
    assert pace.eta(100) is None
    pace.mark(1, 10.0)
    assert pace.eta(100) is None


def test_eta_follows_the_recent_pace_when_steps_get_dearer() -> None:
    pace, t = Pace(window=10), 0.0
    for step in range(1, 201):  # 0.3 s a step, then 2 s a step (a new level, evals between steps)
        t += 0.3 if step <= 150 else 2.0
        pace.mark(step, t)
    assert pace.seconds_per_step() == pytest.approx(2.0)
    assert pace.eta(500) == pytest.approx(1000.0)


def test_a_long_eval_between_steps_is_in_the_pace() -> None:
    pace = Pace(window=4)
    for step, at in ((1, 0.0), (2, 1.0), (3, 2.0), (4, 29.0), (5, 30.0)):  # 26 s of evals before step 4
        pace.mark(step, at)
    assert pace.seconds_per_step() == pytest.approx(7.5)
    assert pace.eta(0) == 0
