"""rules.rewards: the one XP → level rule and the one gold rule (DESIGN §6)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from realm_tui.rules.rewards import (
    GOLD_PER_QUEST,
    GOLD_PER_SKILL_LEVEL,
    campaign_gold,
    gold,
    hero_level,
    levels_gained,
    steps_to_next_level,
)


@dataclass
class Campaign:
    quests_completed: int = 0
    transitions: list[dict[str, Any]] = field(default_factory=list)


def test_hero_level_is_xp_over_steps_per_level() -> None:
    assert [hero_level(s, 10) for s in (0, 9, 10, 19, 20, 1005)] == [0, 0, 1, 1, 2, 100]
    assert hero_level(999, 1000) == 0 and hero_level(1000, 1000) == 1


def test_steps_to_next_level_is_never_zero() -> None:
    assert [steps_to_next_level(s, 10) for s in (0, 3, 9, 10, 25)] == [10, 7, 1, 10, 5]


@pytest.mark.parametrize("bad", [0, -5])
def test_a_non_positive_steps_per_level_is_refused(bad: int) -> None:
    with pytest.raises(ValueError, match="steps_per_level must be > 0"):
        hero_level(10, bad)


def test_levels_gained_counts_the_campaigns_own_transitions() -> None:
    assert levels_gained([]) == 0
    assert levels_gained([{"skill": "bin", "from": 0, "to": 1}, {"skill": "sy", "from": 1, "to": 2}]) == 2
    assert levels_gained([{"skill": "bin", "from": 2, "to": 4}]) == 2  # a jump gains each level
    assert levels_gained([{"skill": "sy", "from_level": 0, "to_level": 1}]) == 1  # strain.transition_record's keys
    assert levels_gained([{"skill": "sy", "from": None, "to": 1}]) == 1
    # nothing for a malformed or backwards transition
    assert levels_gained([{"skill": "bin"}, {"from": 3, "to": 1}, {"from": "0", "to": "1"}]) == 0


def test_gold_is_100_per_quest_and_50_per_level_gained() -> None:
    assert (GOLD_PER_QUEST, GOLD_PER_SKILL_LEVEL) == (100, 50)
    assert gold(3, 2) == 400
    assert gold(1, 1, per_quest=10, per_skill_level=0) == 10
    with pytest.raises(ValueError, match="quests_completed must be >= 0"):
        gold(-1, 0)


def test_levels_a_new_game_plus_inherited_pay_nothing() -> None:
    """Only the transitions count, never the skill levels the campaign started with."""
    assert campaign_gold(Campaign()) == 0
    campaign = Campaign(quests_completed=2, transitions=[{"skill": "bin", "from": 3, "to": 4}])
    assert campaign_gold(campaign) == 250
