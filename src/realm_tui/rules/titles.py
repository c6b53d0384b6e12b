"""Hero titles: the highest-priority rule whose every condition holds names the hero.

Rules come from ``configs/titles.yaml`` (the config package's pydantic model) or from
``TitleRule`` here; both have the same fields, and ``best_title`` accepts either. A condition
left empty (``None``, ``{}``, ``[]``) always holds.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol


class TitleRuleLike(Protocol):
    """The fields a title rule has, whether a ``TitleRule`` or the config model."""

    @property
    def name(self) -> str: ...
    @property
    def priority(self) -> int: ...
    @property
    def min_level(self) -> int | None: ...
    @property
    def min_steps(self) -> int | None: ...
    @property
    def skill_levels(self) -> Mapping[str, int]: ...
    @property
    def min_accuracy(self) -> float | None: ...
    @property
    def achievements(self) -> Sequence[str]: ...


@dataclass(frozen=True)
class TitleRule:
    """A title and the conditions for holding it."""

    name: str
    priority: int = 0
    """Higher wins when several titles match; ties go to the earlier rule."""
    min_level: int | None = None
    """Hero level at least this."""
    min_steps: int | None = None
    """XP (steps trained) at least this."""
    skill_levels: Mapping[str, int] = field(default_factory=dict)
    """Mastered level per skill, each at least this."""
    min_accuracy: float | None = None
    """Hero ACC at least this."""
    achievements: Sequence[str] = ()
    """Achievement ids the hero must hold."""


@dataclass(frozen=True)
class TitleContext:
    """What the title rules look at."""

    level: int
    steps: int
    skill_levels: Mapping[str, int] = field(default_factory=dict)
    """Mastered level per skill."""
    accuracy: float | None = None
    """Hero ACC (``None`` before any eval)."""
    achievements: Collection[str] = frozenset()


def title_matches(rule: TitleRuleLike, context: TitleContext) -> bool:
    """Whether every condition of ``rule`` holds for ``context``."""
    if rule.min_level is not None and context.level < rule.min_level:
        return False
    if rule.min_steps is not None and context.steps < rule.min_steps:
        return False
    for skill, needed in (rule.skill_levels or {}).items():
        if context.skill_levels.get(skill, 0) < needed:
            return False
    if rule.min_accuracy is not None:
        acc = context.accuracy
        if acc is None or not math.isfinite(acc) or acc < rule.min_accuracy:
            return False
    return all(a in context.achievements for a in rule.achievements or ())


def best_title(titles: Sequence[TitleRuleLike], context: TitleContext) -> str | None:
    """The name of the highest-priority matching title (the earliest on ties), or ``None``."""
    best: TitleRuleLike | None = None
    for rule in titles:
        if title_matches(rule, context) and (best is None or rule.priority > best.priority):
            best = rule
    return None if best is None else best.name
