"""TitlesConfig and CurriculumConfig rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from realm_tui.config.curriculum import CurriculumConfig
from realm_tui.config.loader import format_validation_error
from realm_tui.config.titles import TitlesConfig


def problem(model: type[BaseModel], data: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as info:
        model.model_validate(data)
    return format_validation_error(info.value)


# ---------------------------------------------------------------- titles


def test_titles_and_their_flat_view() -> None:
    cfg = TitlesConfig.model_validate(
        {
            "titles": [
                {"name": "Recruit", "priority": 0},
                {
                    "name": "Bit Twiddler",
                    "priority": 50,
                    "conditions": {
                        "min_level": 2,
                        "skill_levels": {"bin": 10},
                        "achievements": ["in_the_zone"],
                    },
                },
            ]
        }
    )
    recruit, twiddler = cfg.titles
    assert (recruit.min_level, recruit.min_steps, recruit.skill_levels, recruit.achievements) == (
        0,
        0,
        {},
        [],
    )
    assert recruit.min_accuracy is None
    assert (twiddler.min_level, twiddler.skill_levels, twiddler.achievements) == (
        2,
        {"bin": 10},
        ["in_the_zone"],
    )
    assert [t.name for t in cfg.by_priority()] == ["Bit Twiddler", "Recruit"]
    assert cfg.skills_named() == {"bin"}


@pytest.mark.parametrize(
    ("titles", "expected"),
    [
        ([], "titles"),
        ([{"name": "A", "priority": 1}, {"name": "A", "priority": 2}], "titles: the name 'A' is used twice"),
        ([{"name": "A", "priority": 1}, {"name": "B", "priority": 1}], "share priority 1"),
        (
            [{"name": "A", "priority": 1, "conditions": {"skill_levels": {"sy": 0}}}],
            "skill levels start at 1",
        ),
        (
            [{"name": "A", "priority": 1, "conditions": {"min_accuracy": 1.5}}],
            "titles[0].conditions.min_accuracy",
        ),
        ([{"name": "A", "priority": "high"}], "titles[0].priority"),
        ([{"name": "A", "priority": 1, "when": {}}], "titles[0].when: unknown key"),
    ],
)
def test_title_rules(titles: list[dict[str, Any]], expected: str) -> None:
    assert expected in problem(TitlesConfig, {"titles": titles})


# ---------------------------------------------------------------- curriculum

SKILLS = {"bin": {"weight": 1.0}, "sy": {"weight": 2.0, "enabled": False}}


def test_defaults_and_a_full_curriculum() -> None:
    assert CurriculumConfig.model_validate({}).strategy == "weighted"
    cfg = CurriculumConfig.model_validate(
        {
            "strategy": "focus",
            "focus_skill": "bin",
            "skills": SKILLS,
            "modules": [{"id": "pattern-master", "weight": 0.4, "priority": 1}],
            "quest_share": 0.3,
            "review_share": 0.9,
        }
    )
    assert cfg.enabled_skills() == ["bin"]


def test_focus_skill_is_ignored_by_other_strategies() -> None:
    cfg = CurriculumConfig.model_validate({"strategy": "round_robin", "focus_skill": "sy", "skills": SKILLS})
    assert cfg.focus_skill == "sy"


def test_quest_only_curriculum_needs_no_enabled_skill() -> None:
    CurriculumConfig.model_validate({"skills": {"sy": {"enabled": False}}, "quest_share": 1.0})


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"strategy": "focus"}, "focus_skill: required with strategy focus"),
        (
            {"strategy": "focus", "focus_skill": "chess", "skills": SKILLS},
            "focus_skill: 'chess' is not listed",
        ),
        ({"strategy": "focus", "focus_skill": "sy", "skills": SKILLS}, "focus_skill: 'sy' is disabled"),
        ({"strategy": "random"}, "strategy"),
        ({"review_share": 0.95}, "review_share"),
        ({"quest_share": 1.5}, "quest_share"),
        ({"samples_per_level": 0}, "samples_per_level"),
        ({"modules": [{"id": "m"}, {"id": "m"}]}, "modules: listed twice: m"),
        ({"skills": {"sy": {"enabled": False}}}, "skills: none is enabled"),
        (
            {"skills": {"sy": {"weight": 0.0}}},
            "skills: strategy weighted needs an enabled skill with weight > 0",
        ),
        ({"skills": {"sy": {"weight": -1.0}}}, "skills.sy.weight"),
        ({"skills": {"Bad Id": {}}}, "skills.Bad Id"),
        ({"skills": {"sy": {"weigth": 1.0}}}, "skills.sy.weigth: unknown key"),
    ],
)
def test_curriculum_rules(data: dict[str, Any], expected: str) -> None:
    assert expected in problem(CurriculumConfig, data)


def test_shipped_titles_work_with_the_rules() -> None:
    from realm_tui.config.loader import load_model
    from realm_tui.rules.titles import TitleContext, best_title

    shipped = Path(__file__).resolve().parents[3] / "configs" / "titles.yaml"
    titles = load_model(shipped, TitlesConfig).titles
    assert best_title(titles, TitleContext(level=0, steps=0)) == "Fresh Recruit"
    assert best_title(titles, TitleContext(level=3, steps=500, skill_levels={"bin": 10})) == "Bit Twiddler"
    veteran = TitleContext(level=25, steps=30_000, skill_levels={"bin": 30, "sy": 50}, accuracy=0.95)
    assert best_title(titles, veteran) == "Grandmaster of the Realm"
