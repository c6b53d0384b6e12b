"""Rewards: the one home of the XP → level rule and of gold (DESIGN §6).

- **XP** is the optimizer steps trained in the campaign; the hero gains a level every
  ``steps_per_level`` steps (``hero_level``).
- **Gold** = ``GOLD_PER_QUEST`` per quest completed + ``GOLD_PER_SKILL_LEVEL`` per skill level
  *gained in this campaign* (``campaign_gold``). Both counts come from what the campaign recorded:
  the quests it finished and its level transitions. Levels a New Game+ campaign inherited were
  gained (and paid) by the campaign they came from, so they pay nothing here.

The battle writes a campaign's stored gold with ``campaign_gold`` after each quest or level-up,
and every face (CLI, TUI) shows ``campaign_gold`` of the same record: one number everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

GOLD_PER_QUEST = 100
"""Gold paid when a quest is finished (its examples trained for its passes, never for a battle that
merely ended)."""
GOLD_PER_SKILL_LEVEL = 50
"""Gold paid for each skill level gained."""


class RewardSource(Protocol):
    """What gold is counted from: a campaign record (``store.CampaignRecord`` fits)."""

    @property
    def quests_completed(self) -> int: ...

    @property
    def transitions(self) -> Sequence[Mapping[str, Any]]: ...


def hero_level(steps: int, steps_per_level: int) -> int:
    """The hero level after ``steps`` optimizer steps (XP): ``steps // steps_per_level``."""
    if steps_per_level <= 0:
        raise ValueError(f"steps_per_level must be > 0, got {steps_per_level}")
    return max(0, steps) // steps_per_level


def steps_to_next_level(steps: int, steps_per_level: int) -> int:
    """Optimizer steps still needed from ``steps`` to reach the next hero level (1..steps_per_level)."""
    return (hero_level(steps, steps_per_level) + 1) * steps_per_level - max(0, steps)


def levels_gained(transitions: Iterable[Mapping[str, Any]]) -> int:
    """Skill levels gained by a campaign's level transitions: the keeper writes ``from``/``to``,
    records built from `rules.strain.transition_record` say ``from_level``/``to_level`` (both read,
    as `rules.progression.transition_from_record` does). One without numbers, or one that goes
    down, gains nothing."""
    total = 0
    for t in transitions:
        before = t["from"] if "from" in t else t.get("from_level", 0)
        after = t["to"] if "to" in t else t.get("to_level", 0)
        before = 0 if before is None else before  # a first level-up may record "from": None
        if isinstance(before, int) and isinstance(after, int) and after > before:
            total += after - before
    return total


def gold(
    quests_completed: int,
    skill_levels_gained: int,
    *,
    per_quest: int = GOLD_PER_QUEST,
    per_skill_level: int = GOLD_PER_SKILL_LEVEL,
) -> int:
    """Gold for these counts (ValueError for a negative count or rate)."""
    for name, value in (
        ("quests_completed", quests_completed),
        ("skill_levels_gained", skill_levels_gained),
        ("gold_per_quest", per_quest),
        ("gold_per_skill_level", per_skill_level),
    ):
        if value < 0:
            raise ValueError(f"{name} must be >= 0, got {value}")
    return quests_completed * per_quest + skill_levels_gained * per_skill_level


def campaign_gold(campaign: RewardSource) -> int:
    """A campaign's gold, from the quests it finished and the skill levels it gained."""
    return gold(campaign.quests_completed, levels_gained(campaign.transitions))
