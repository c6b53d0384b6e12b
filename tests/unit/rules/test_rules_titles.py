"""Titles: highest-priority matching rule, from TitleRule or the config's pydantic model."""

from __future__ import annotations

from pydantic import BaseModel, Field

from realm_tui.rules.titles import TitleContext, TitleRule, best_title, title_matches

RULES = [
    TitleRule("Untrained", priority=0),
    TitleRule("Apprentice", priority=10, min_steps=1000),
    TitleRule("Bit Counter", priority=20, skill_levels={"bin": 3}, min_accuracy=0.7),
    TitleRule("Dual Wielder", priority=30, skill_levels={"bin": 5, "sy": 5}),
    TitleRule("Champion's Hand", priority=40, min_level=10, achievements=["champion_crowned"]),
]


def ctx(**kw: object) -> TitleContext:
    base: dict[str, object] = {"level": 0, "steps": 0}
    base.update(kw)
    return TitleContext(**base)  # type: ignore[arg-type]


def test_highest_priority_match_wins() -> None:
    assert best_title(RULES, ctx()) == "Untrained"
    assert best_title(RULES, ctx(steps=1500, level=1)) == "Apprentice"
    assert best_title(RULES, ctx(steps=5000, skill_levels={"bin": 3}, accuracy=0.75)) == "Bit Counter"
    assert best_title(RULES, ctx(steps=5000, skill_levels={"bin": 5, "sy": 6}, accuracy=0.1)) == "Dual Wielder"


def test_every_condition_must_hold() -> None:
    champ = RULES[4]
    assert not title_matches(champ, ctx(level=10))
    assert not title_matches(champ, ctx(level=9, achievements={"champion_crowned"}))
    assert title_matches(champ, ctx(level=10, achievements={"champion_crowned", "first_step"}))
    assert not title_matches(RULES[2], ctx(skill_levels={"bin": 3}, accuracy=None))
    assert not title_matches(RULES[2], ctx(skill_levels={"bin": 3}, accuracy=float("nan")))
    assert not title_matches(RULES[3], ctx(skill_levels={"bin": 9}))


def test_no_rules_or_no_match_gives_none() -> None:
    assert best_title([], ctx()) is None
    assert best_title([TitleRule("Master", min_steps=10**6)], ctx(steps=5)) is None


def test_priority_ties_go_to_the_earlier_rule() -> None:
    rules = [TitleRule("First", priority=5), TitleRule("Second", priority=5)]
    assert best_title(rules, ctx()) == "First"


def test_order_of_rules_does_not_beat_priority() -> None:
    assert best_title(list(reversed(RULES)), ctx(steps=1500)) == "Apprentice"


class ConfigTitle(BaseModel):
    """Stand-in for the config package's pydantic title model (same fields)."""

    name: str
    priority: int = 0
    min_level: int = 0
    min_steps: int = 0
    skill_levels: dict[str, int] = Field(default_factory=dict)
    min_accuracy: float | None = None
    achievements: list[str] = Field(default_factory=list)


def test_accepts_pydantic_config_models() -> None:
    rules = [
        ConfigTitle(name="Novice"),
        ConfigTitle(name="Syllable Sage", priority=9, skill_levels={"sy": 15}),
    ]
    assert best_title(rules, ctx()) == "Novice"
    assert best_title(rules, ctx(skill_levels={"sy": 15})) == "Syllable Sage"


def test_accepts_the_real_titles_config() -> None:
    from realm_tui.config.titles import TitlesConfig

    config = TitlesConfig.model_validate(
        {
            "titles": [
                {"name": "Untrained", "priority": 0},
                {"name": "Bit Twiddler", "priority": 20, "conditions": {"skill_levels": {"bin": 3}}},
                {"name": "Crowned", "priority": 30, "conditions": {"achievements": ["champion_crowned"]}},
            ]
        }
    )
    assert best_title(config.titles, ctx()) == "Untrained"
    assert best_title(config.titles, ctx(skill_levels={"bin": 3})) == "Bit Twiddler"
    assert best_title(config.titles, ctx(skill_levels={"bin": 3}, achievements={"champion_crowned"})) == "Crowned"
