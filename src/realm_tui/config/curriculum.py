"""The curriculum (`configs/curriculum.yaml`): what each battle trains on, and in what mix."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from realm_tui.config.common import Slug
from realm_tui.config.loader import ExactModel

Strategy = Literal["weighted", "round_robin", "lowest_first", "focus"]


class SkillWeight(ExactModel):
    """How much one skill counts in the mix of generated data."""

    weight: float = Field(default=1.0, ge=0)
    """Relative weight (for `weighted`); 0 keeps the skill in rotation only for review."""
    enabled: bool = True
    """A disabled skill gets no generated data at all."""
    joins_after: dict[Slug, int] = Field(default_factory=dict)
    """Skill id → level it must have mastered before this skill joins the mix (e.g. `{bin: 2}`):
    until then this skill gets no data and no evals, so a new hero's first battle trains (and
    levels up) the cheap skill first. Empty, or naming a disabled skill: it trains from the start."""


class ModuleWeight(ExactModel):
    """One installed quest module (`quests/modules/<id>/`) composed into the curriculum.

    The modules share the non-quest part of each step with the skills by weight (see
    `realm_tui.skills.curriculum`); the hero trains a module's data files at the levels it is
    training (`realm_tui.quests.compose`)."""

    id: Slug
    """Module id (an installed module; a listed id that is not installed refuses the battle)."""
    weight: float = Field(default=1.0, ge=0)
    """Relative weight, on the same scale as the skills' weights; 0 leaves the module out."""
    priority: int = 0
    """Order of the deal: lower numbers are served first (then by id); each still gets its weight share."""
    enabled: bool = True
    """A disabled module gets no data (it need not be installed)."""


class LevelCapConfig(ExactModel):
    """When a campaign is maxed out (DESIGN §6): the knobs of `rules.check_maxed_out`."""

    maintenance_limit: float = Field(default=1.0, gt=0)
    """Maxed out when review steps ÷ new-level steps over the window passes this."""
    costly_level_ups: int = Field(default=2, ge=1)
    """Maxed out when this many level-ups in a row were each followed by a regression."""
    window_steps: int = Field(default=2000, ge=1)
    """The maintenance multiplier is measured over the last this-many optimizer steps."""
    min_window_steps: int = Field(default=1000, ge=0)
    """The multiplier is only judged once the window holds this many steps (no early-burst verdict)."""

    @model_validator(mode="after")
    def _window(self) -> LevelCapConfig:
        if self.min_window_steps > self.window_steps:
            raise ValueError(
                f"min_window_steps ({self.min_window_steps}) cannot exceed window_steps ({self.window_steps})"
            )
        return self


class StopWhenConfig(ExactModel):
    """How a battle ends (`realm train --stop-when/--plateau-evals` override it for one battle)."""

    rule: Literal["steps", "plateau"] = "steps"
    """`steps`: at its max steps (or when its quest runs out); `plateau`: also earlier, once no
    trained skill's accuracy at its training level improved over `plateau_evals` evals
    (`rules.plateau`)."""
    plateau_evals: int = Field(default=5, ge=1)
    """Evals without improvement that end a `plateau` battle (`rules.plateau.DEFAULT_PLATEAU_EVALS`)."""


class CurriculumConfig(ExactModel):
    """The mix of quest data, generated skill data and review in a battle."""

    strategy: Strategy = "weighted"
    """`weighted` (by weight), `round_robin`, `lowest_first` (lowest skill level first) or `focus`."""
    focus_skill: Slug | None = None
    """The one skill to train with strategy `focus` (required then, ignored otherwise)."""
    review_share: float = Field(default=0.2, ge=0, le=0.9)
    """Share of generated data that reviews mastered levels (maintenance)."""
    skills: dict[Slug, SkillWeight] = Field(default_factory=dict)
    """Per skill id: weight and whether it is enabled."""
    modules: list[ModuleWeight] = Field(default_factory=list)
    """Installed quest modules to compose into battles, by weight and priority."""
    quest_share: float = Field(default=0.5, ge=0, le=1)
    """Share of a battle's data from the quest file; the rest is generated skill data."""
    samples_per_level: int = Field(default=1000, ge=1)
    """Generated examples per skill level in a battle's mix."""
    level_cap: LevelCapConfig = Field(default_factory=LevelCapConfig)
    """When the campaign is maxed out (maintenance limit, costly level-ups in a row, window)."""
    stop_when: StopWhenConfig = Field(default_factory=StopWhenConfig)
    """When each battle ends: at its steps, or on a plateau of the training-level accuracy."""

    @model_validator(mode="after")
    def _consistent(self) -> CurriculumConfig:
        if self.strategy == "focus":
            if self.focus_skill is None:
                raise ValueError("focus_skill: required with strategy focus")
            if self.skills and self.focus_skill not in self.skills:
                raise ValueError(f"focus_skill: {self.focus_skill!r} is not listed under skills")
            if self.skills and not self.skills[self.focus_skill].enabled:
                raise ValueError(f"focus_skill: {self.focus_skill!r} is disabled under skills")
        ids = [m.id for m in self.modules]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"modules: listed twice: {', '.join(dupes)}")
        if self.quest_share < 1 and self.skills and not self.enabled_skills():
            raise ValueError("skills: none is enabled, yet quest_share < 1 leaves room for generated skill data")
        for sid, w in self.skills.items():
            for other, level in w.joins_after.items():
                if other == sid or other not in self.skills:
                    raise ValueError(f"skills.{sid}.joins_after: {other!r} is not another skill listed here")
                if level < 1:
                    raise ValueError(f"skills.{sid}.joins_after.{other}: a level is at least 1, got {level}")
        enabled = self.enabled_skills()
        if enabled and all(self.waits_for(s) for s in enabled):
            raise ValueError("skills: every enabled skill waits (joins_after) for another: none would ever start")
        weighted = self.strategy == "weighted" and self.quest_share < 1 and self.skills
        if weighted and not any(w.weight > 0 for w in self.skills.values() if w.enabled):
            raise ValueError("skills: strategy weighted needs an enabled skill with weight > 0")
        return self

    def waits_for(self, skill: str) -> dict[str, int]:
        """The levels `skill` waits for before it joins: its `joins_after` on enabled skills (a
        wait on a disabled skill is void: it would never end)."""
        entry = self.skills.get(skill)
        if entry is None:
            return {}
        return {o: lvl for o, lvl in entry.joins_after.items() if o in self.skills and self.skills[o].enabled}

    def enabled_skills(self) -> list[str]:
        """Ids of enabled skills, in file order."""
        return [skill for skill, w in self.skills.items() if w.enabled]

    def enabled_modules(self) -> list[ModuleWeight]:
        """Enabled modules with a weight > 0, in priority order (lower first, then id)."""
        return sorted((m for m in self.modules if m.enabled and m.weight > 0), key=lambda m: (m.priority, m.id))
