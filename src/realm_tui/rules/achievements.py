"""Achievements: milestones earned once per hero, checked against a snapshot of progress."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass, field

BOTH_SKILLS = ("bin", "sy")
"""The skills *both_skills_mastered* asks for."""
BOTH_SKILLS_LEVEL = 5
"""Mastered level each of ``BOTH_SKILLS`` must reach for *both_skills_mastered*."""
IN_THE_ZONE_STEPS = 100
"""Consecutive productive-zone steps for *in_the_zone*."""
QUEST_VETERAN_QUESTS = 10


@dataclass(frozen=True)
class Achievement:
    id: str
    name: str
    description: str


@dataclass(frozen=True)
class AchievementContext:
    """A snapshot of the hero's progress (counts for the whole hero, not one battle)."""

    steps: int = 0
    hero_level: int = 0
    checkpoints: int = 0
    """Checkpoints saved."""
    skill_levels: Mapping[str, int] = field(default_factory=dict)
    """Mastered level per skill."""
    productive_streak: int = 0
    """Consecutive latest steps in the productive strain zone."""
    quests_completed: int = 0
    has_champion: bool = False
    maxed_out: bool = False


_Check = Callable[[AchievementContext], bool]

_CATALOGUE: tuple[tuple[Achievement, _Check], ...] = (
    (
        Achievement("first_step", "First Blood", "Trained the first step."),
        lambda c: c.steps >= 1,
    ),
    (
        Achievement("steps_1k", "Thousand Cuts", "Trained 1,000 steps."),
        lambda c: c.steps >= 1_000,
    ),
    (
        Achievement("steps_10k", "Ten Thousand Strikes", "Trained 10,000 steps."),
        lambda c: c.steps >= 10_000,
    ),
    (
        Achievement("first_checkpoint", "Saved Game", "Saved the first checkpoint."),
        lambda c: c.checkpoints >= 1,
    ),
    (
        Achievement("first_level_up", "Level Up!", "Reached hero level 1."),
        lambda c: c.hero_level >= 1,
    ),
    (
        Achievement("first_skill_level", "Apprentice", "Mastered a first skill level."),
        lambda c: any(level >= 1 for level in c.skill_levels.values()),
    ),
    (
        Achievement(
            "both_skills_mastered",
            "Dual Wielder",
            f"Mastered level {BOTH_SKILLS_LEVEL} of both BIN and SY.",
        ),
        lambda c: all(c.skill_levels.get(s, 0) >= BOTH_SKILLS_LEVEL for s in BOTH_SKILLS),
    ),
    (
        Achievement(
            "in_the_zone",
            "In the Zone",
            f"Trained {IN_THE_ZONE_STEPS} steps in a row in the productive strain zone.",
        ),
        lambda c: c.productive_streak >= IN_THE_ZONE_STEPS,
    ),
    (
        Achievement("first_quest", "Quest Giver's Friend", "Completed a first quest."),
        lambda c: c.quests_completed >= 1,
    ),
    (
        Achievement("quest_veteran", "Quest Veteran", f"Completed {QUEST_VETERAN_QUESTS} quests."),
        lambda c: c.quests_completed >= QUEST_VETERAN_QUESTS,
    ),
    (
        Achievement("champion_crowned", "Champion Crowned", "A blessed checkpoint became champion."),
        lambda c: c.has_champion,
    ),
    (
        Achievement("level_cap_found", "Level Cap", "Pushed the hero until it maxed out."),
        lambda c: c.maxed_out,
    ),
)

ACHIEVEMENTS: dict[str, Achievement] = {a.id: a for a, _ in _CATALOGUE}
"""Every achievement by id, in catalogue order."""


def new_achievements(context: AchievementContext, already: Set[str]) -> list[Achievement]:
    """Achievements earned by ``context`` and not in ``already``, in catalogue order."""
    return [a for a, check in _CATALOGUE if a.id not in already and check(context)]
