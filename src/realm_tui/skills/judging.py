"""Judging the hero's answers with a skill's own scorer: shared by sparring (the Mirror school)
and the Arena (RL from verifiable rewards). Pure: no torch, no I/O.

A `Verdict` is what the skill says of one answer: right or wrong (`SkillBase.score`), how much
of it is right (`partial_credit`, 0..1) and whether it has a right answer's shape
(`well_formed`). `Rewards` turns a verdict into the Arena's number: 1 for a right answer, plus
`partial` × the partial credit, plus `format` × well-formedness.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from realm_tui.errors import InputError
from realm_tui.skills.base import Problem


@dataclass(frozen=True)
class Verdict:
    correct: bool
    partial: float
    """Share of the answer that is right, 0..1 (1.0 when correct); NaN from a broken skill."""
    formatted: bool


def require_scorer(skill: Any, where: str) -> None:
    """An InputError unless `skill` can judge answers (a callable `score`)."""
    if not callable(getattr(skill, "score", None)):
        name = getattr(skill, "id", type(skill).__name__)
        raise InputError(None, f"{where}: skill {name!r} has no scorer, so its answers cannot be judged")


def judge(skill: Any, problem: Problem, answer: str) -> Verdict:
    """The skill's verdict on one answer (a skill without partial credit or format: right/wrong)."""
    correct = bool(skill.score(problem, answer))
    partial_fn = getattr(skill, "partial_credit", None)
    partial = 1.0 if correct else (float(partial_fn(problem, answer)) if callable(partial_fn) else 0.0)
    formed_fn = getattr(skill, "well_formed", None)
    formatted = correct or (bool(formed_fn(problem, answer)) if callable(formed_fn) else bool(answer.strip()))
    return Verdict(correct, partial, formatted)


def judge_all(skill: Any, problems: Sequence[Problem], answers: Sequence[str]) -> list[Verdict]:
    if len(problems) != len(answers):
        raise ValueError(f"{len(problems)} problems but {len(answers)} answers")
    return [judge(skill, p, a) for p, a in zip(problems, answers, strict=True)]


@dataclass(frozen=True)
class Rewards:
    """How a verdict becomes a reward: exact 1/0, + partial × credit, + format × shape."""

    partial: float = 0.0
    format: float = 0.0

    def of(self, verdict: Verdict) -> float:
        """The reward; NaN stays NaN (the caller refuses the step rather than train on it)."""
        value = 1.0 if verdict.correct else 0.0
        if self.partial:
            value += self.partial * verdict.partial
        if self.format:
            value += self.format * (1.0 if verdict.formatted else 0.0)
        return value

    @property
    def best(self) -> float:
        """The reward of a right answer."""
        return 1.0 + self.partial + self.format


def all_finite(values: Sequence[float]) -> bool:
    return all(math.isfinite(v) for v in values)
