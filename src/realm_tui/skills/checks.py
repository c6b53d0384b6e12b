"""Checks of a skill config beyond its schema, for `realm validate`: every level can be built,
and no level is easier than the one below.

A level that cannot be built would otherwise only show at battle time, as a generator that gives
up after its bounded retries (SY: MAX_ATTEMPTS draws per puzzle) in the middle of a battle.
"""

from __future__ import annotations

import random

from realm_tui.skills.base import SkillBase

PROBES_PER_LEVEL = 3
"""Problems built per level to show that it can be built (each is bounded by the generator's own
retry limit, so an unsatisfiable level fails in bounded time)."""


def unbuildable_levels(skill: SkillBase, probes: int = PROBES_PER_LEVEL) -> list[str]:
    """One line per level whose problems cannot be built, naming the level and the reason."""
    problems: list[str] = []
    for level in range(1, skill.max_level + 1):
        rng = random.Random(f"realm/validate/{skill.id}/{level}")
        try:
            for _ in range(probes):
                skill.make_one(level, rng)
        except (RuntimeError, ValueError) as err:
            reason = str(err).removeprefix(f"{skill.id} level {level}: ")
            problems.append(f"level {level}: cannot build a problem: {reason}")
    return problems


def falling_difficulty(skill: SkillBase) -> list[str]:
    """One line per level where a difficulty number falls below the level before."""
    problems: list[str] = []
    previous = skill.difficulty(1)
    for level in range(2, skill.max_level + 1):
        current = skill.difficulty(level)
        for name, value in current.items():
            if name in previous and value < previous[name]:
                problems.append(
                    f"level {level}: {name} falls from {previous[name]:g} to {value:g} "
                    "(a level is never easier than the one below)"
                )
        previous = current
    return problems


def skill_problems(skill: SkillBase) -> list[str]:
    """Every problem of the skill's config that its schema cannot see."""
    return falling_difficulty(skill) + unbuildable_levels(skill)
