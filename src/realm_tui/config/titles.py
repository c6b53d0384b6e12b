"""Hero titles (`configs/titles.yaml`): the highest-priority title whose conditions hold wins."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from realm_tui.config.common import Slug
from realm_tui.config.loader import ExactModel


class TitleConditions(ExactModel):
    """Everything here must hold for the title to apply; an empty block always holds."""

    min_level: int = Field(default=0, ge=0)
    """Hero level at least this."""
    min_steps: int = Field(default=0, ge=0)
    """Optimizer steps trained (XP) at least this."""
    skill_levels: dict[Slug, int] = Field(default_factory=dict)
    """Mastered level per skill id, at least these."""
    min_accuracy: float | None = Field(default=None, ge=0, le=1)
    """Mean latest eval accuracy (ACC) at least this."""
    achievements: list[Slug] = Field(default_factory=list)
    """Achievement ids that must all be unlocked."""

    @field_validator("skill_levels")
    @classmethod
    def _positive_levels(cls, value: dict[str, int]) -> dict[str, int]:
        bad = sorted(k for k, v in value.items() if v < 1)
        if bad:
            raise ValueError(f"skill levels start at 1: {', '.join(bad)}")
        return value


class Title(ExactModel):
    """One title a hero can hold."""

    name: str = Field(min_length=1, max_length=48)
    """What the hero is called, e.g. `Bit Twiddler`."""
    description: str = ""
    """Flavour text shown with the title."""
    priority: int
    """When several titles apply, the highest priority wins; priorities are unique."""
    conditions: TitleConditions = Field(default_factory=TitleConditions)
    """When the title applies."""

    # Flat views of the conditions, so a Title satisfies `rules.titles.TitleRuleLike`.
    @property
    def min_level(self) -> int:
        return self.conditions.min_level

    @property
    def min_steps(self) -> int:
        return self.conditions.min_steps

    @property
    def skill_levels(self) -> dict[str, int]:
        return self.conditions.skill_levels

    @property
    def min_accuracy(self) -> float | None:
        return self.conditions.min_accuracy

    @property
    def achievements(self) -> list[str]:
        return self.conditions.achievements


class TitlesConfig(ExactModel):
    """All titles, in any order."""

    titles: list[Title] = Field(min_length=1)
    """The titles; names and priorities must be unique."""

    @model_validator(mode="after")
    def _unique(self) -> TitlesConfig:
        names: set[str] = set()
        priorities: dict[int, str] = {}
        for title in self.titles:
            if title.name in names:
                raise ValueError(f"titles: the name {title.name!r} is used twice")
            names.add(title.name)
            if title.priority in priorities:
                raise ValueError(
                    f"titles: {title.name!r} and {priorities[title.priority]!r} share priority "
                    f"{title.priority}; priorities decide ties, so they must be unique"
                )
            priorities[title.priority] = title.name
        return self

    def by_priority(self) -> list[Title]:
        """Titles from highest to lowest priority."""
        return sorted(self.titles, key=lambda t: t.priority, reverse=True)

    def skills_named(self) -> set[str]:
        """Every skill id a condition mentions."""
        return {skill for t in self.titles for skill in t.conditions.skill_levels}
