"""Achievements: catalogue and which are newly earned."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from realm_tui.rules.achievements import (
    ACHIEVEMENTS,
    BOTH_SKILLS_LEVEL,
    IN_THE_ZONE_STEPS,
    AchievementContext,
    new_achievements,
)

REQUIRED = {
    "first_step",
    "steps_1k",
    "steps_10k",
    "first_checkpoint",
    "first_level_up",
    "first_skill_level",
    "both_skills_mastered",
    "in_the_zone",
    "first_quest",
    "champion_crowned",
}


def ids(context: AchievementContext, already: set[str] | None = None) -> list[str]:
    return [a.id for a in new_achievements(context, already or set())]


def test_catalogue_is_complete_and_well_formed() -> None:
    assert set(ACHIEVEMENTS) >= REQUIRED
    assert 8 <= len(ACHIEVEMENTS) <= 12
    for key, a in ACHIEVEMENTS.items():
        assert a.id == key and a.name and a.description


def test_nothing_for_a_fresh_hero() -> None:
    assert ids(AchievementContext()) == []


def test_steps_milestones() -> None:
    assert ids(AchievementContext(steps=1)) == ["first_step"]
    assert ids(AchievementContext(steps=1000, hero_level=1)) == ["first_step", "steps_1k", "first_level_up"]
    assert "steps_10k" in ids(AchievementContext(steps=10_000))


def test_already_earned_are_not_repeated() -> None:
    assert ids(AchievementContext(steps=1000), {"first_step"}) == ["steps_1k"]


def test_skills_zone_quests_champion_cap() -> None:
    assert ids(AchievementContext(skill_levels={"bin": 1})) == ["first_skill_level"]
    lv = BOTH_SKILLS_LEVEL
    assert "both_skills_mastered" not in ids(AchievementContext(skill_levels={"bin": lv, "sy": lv - 1}))
    assert "both_skills_mastered" in ids(AchievementContext(skill_levels={"bin": lv, "sy": lv}))
    assert ids(AchievementContext(productive_streak=IN_THE_ZONE_STEPS - 1)) == []
    assert ids(AchievementContext(productive_streak=IN_THE_ZONE_STEPS)) == ["in_the_zone"]
    assert ids(AchievementContext(quests_completed=10)) == ["first_quest", "quest_veteran"]
    assert ids(AchievementContext(checkpoints=1, has_champion=True)) == [
        "first_checkpoint",
        "champion_crowned",
    ]
    assert ids(AchievementContext(maxed_out=True)) == ["level_cap_found"]


@given(
    st.builds(
        AchievementContext,
        steps=st.integers(0, 20_000),
        hero_level=st.integers(0, 30),
        checkpoints=st.integers(0, 3),
        skill_levels=st.dictionaries(st.sampled_from(["bin", "sy"]), st.integers(0, 10)),
        productive_streak=st.integers(0, 200),
        quests_completed=st.integers(0, 20),
        has_champion=st.booleans(),
        maxed_out=st.booleans(),
    ),
    st.sets(st.sampled_from(sorted(ACHIEVEMENTS))),
)
def test_new_achievements_never_repeat_and_are_monotone(context: AchievementContext, already: set[str]) -> None:
    earned = ids(context, already)
    assert not set(earned) & already
    assert len(set(earned)) == len(earned)
    assert earned == [a for a in ids(context) if a not in already]
