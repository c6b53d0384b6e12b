"""Effort per skill: a step's strain shared out by each skill's share of the step's examples."""

from __future__ import annotations

import math

import pytest

from realm_tui.rules.strain import split_effort


def test_strain_is_shared_by_each_skills_share_of_the_examples() -> None:
    mix = {"quest": 4, "bin": 3, "sy": 1}
    shares = split_effort(2.0, mix, {"bin", "sy"})
    assert shares == pytest.approx({"bin": 0.75, "sy": 0.25})  # the quest's half goes to no skill


def test_a_skill_absent_from_the_step_gets_nothing() -> None:
    assert split_effort(1.0, {"bin": 8}, {"bin", "sy"}) == {"bin": 1.0}


@pytest.mark.parametrize("strain", [0.0, -1.0, math.nan, math.inf])
def test_no_effort_from_zero_negative_or_non_finite_strain(strain: float) -> None:
    assert split_effort(strain, {"bin": 8}, {"bin"}) == {}


def test_an_empty_mix_adds_nothing() -> None:
    assert split_effort(1.0, {}, {"bin"}) == {}
    assert split_effort(1.0, {"bin": 0}, {"bin"}) == {}
