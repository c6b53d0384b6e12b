"""Skill configs (`configs/skills/<id>.yaml`): what a skill is called, how it levels, and the
per-level dials its generator reads. One model per skill id, sharing `SkillConfig`'s fields."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from realm_tui.config.loader import StrictModel, read_yaml, validate_data
from realm_tui.errors import ConfigError

MAX_EVAL_SAMPLES = 256
"""Size of the fixed held-out eval pool per (skill, level); eval sets are prefixes of it."""

PRIMITIVE_RE = re.compile(r"^(seq|logic|mem|fmt|attn|xfm)_[a-z][a-z_]*$")
"""Primitive ids belong to one of the six families of the design (seq_, logic_, ...)."""

BinOp = Literal[
    "add",
    "sub",
    "mul",
    "inc",
    "dec",
    "sadd",
    "ssub",
    "smul",
    "neg",
    "abs",
    "eq",
    "lt",
    "gt",
    "min",
    "max",
    "dbl",
    "hlf",
    "tobin",
    "todec",
]
Tier = Literal["plain", "verify", "show-work", "trace"]
KeyKind = Literal["emoji", "word"]


class LevelParams(StrictModel):
    """Dials shared by every skill's level entry."""

    level: int = Field(ge=1)
    """The level these dials apply to (1-based, listed in order)."""


class BinLevel(LevelParams):
    """One BIN level. Bit width is always level + 1 and is not configurable."""

    ops: tuple[BinOp, ...] = Field(min_length=1)
    """Operations drawn from at this level (uniformly)."""
    tiers: dict[Tier, float]
    """Relative weights of the difficulty tiers: plain, verify, show-work, trace."""
    key_share: float = Field(default=0.0, ge=0.0, le=1.0)
    """Share of problems that carry a symbol key remapping bits and operation names."""
    key_kinds: tuple[KeyKind, ...] = ("emoji",)
    """What a key may remap symbols to: emoji, short made-up words, or either."""
    trace_steps: tuple[int, int] = (2, 2)
    """Inclusive range of operations in a `[trace]` chain (2-5)."""

    @field_validator("tiers")
    @classmethod
    def _weights(cls, value: dict[str, float]) -> dict[str, float]:
        if any(w < 0 for w in value.values()) or sum(value.values()) <= 0:
            raise ValueError("tier weights must be >= 0 with a positive sum")
        return value

    @field_validator("trace_steps")
    @classmethod
    def _steps(cls, value: tuple[int, int]) -> tuple[int, int]:
        if not 2 <= value[0] <= value[1] <= 5:
            raise ValueError("trace_steps must be [low, high] with 2 <= low <= high <= 5")
        return value


class SyLevel(LevelParams):
    """One SY level: the six signal-degradation dials."""

    words: int = Field(ge=1, le=12)
    """Number of hidden words in the puzzle."""
    syllables: tuple[int, int]
    """Inclusive range of syllables (tiles) per word."""
    zipf_min: float = Field(ge=1.0, le=8.0)
    """Rarity floor: every word has a Zipf frequency at least this (lower = rarer words allowed)."""
    overlap: float = Field(ge=0.0, le=1.0)
    """Share of words that must share a tile text with another word (0 = no sharing at all)."""
    herrings: int = Field(ge=0, le=12)
    """Red-herring tiles added to the bank."""
    clue: tuple[int, int]
    """Inclusive range of clue tiers: 1 definition/synonym, 2 hypernym/example,
    3 domain/antonym/related form, 4 first letter and length."""

    @model_validator(mode="after")
    def _ranges(self) -> SyLevel:
        lo, hi = self.syllables
        if not 1 <= lo <= hi <= 8:
            raise ValueError("syllables must be [low, high] with 1 <= low <= high <= 8")
        if not 1 <= self.clue[0] <= self.clue[1] <= 4:
            raise ValueError("clue must be [low, high] tiers with 1 <= low <= high <= 4")
        return self


class SkillConfig(StrictModel):
    """Fields every skill config has; `BinConfig` and `SyConfig` add the typed levels."""

    id: str
    """Skill id; must equal the file stem (`bin.yaml` holds id `bin`)."""
    name: str = Field(min_length=1)
    """Plain name shown in lists, e.g. "Binary Arithmetic"."""
    rpg_name: str = Field(min_length=1)
    """In-game name shown on the Guild screen."""
    icon: str = Field(min_length=1, max_length=4)
    """One emoji (or a short glyph) for the skill."""
    description: str = ""
    """One-line description of what the skill trains."""
    max_level: int = Field(ge=1)
    """Highest level; `levels` must list 1..max_level."""
    levels: tuple[LevelParams, ...]
    """Per-level dials, in order, one entry per level."""
    eval_samples_per_level: int = Field(default=100, ge=1, le=MAX_EVAL_SAMPLES)
    """Problems in a held-out eval at one level (fewer where the problem space is tiny)."""
    threshold: float = Field(default=0.8, gt=0.0, le=1.0)
    """Mean accuracy over the last `min_evals` evals needed to level up."""
    min_evals: int = Field(default=3, ge=1)
    """How many evals at the training level the level-up rule averages."""
    primitives: tuple[str, ...] = Field(min_length=1)
    """Primitive ids the skill exercises (seq_, logic_, mem_, fmt_, attn_, xfm_ families)."""
    xp_multiplier: float = Field(default=1.0, gt=0.0, le=10.0)
    """Reserved, not read yet: meant to weight this skill's steps if XP or effort are ever shared out
    among skills. Today XP is every optimizer step of the campaign (`rules.stats`) and a level-up
    pays a fixed 50 gold (`rules.rewards`), so no rule has a per-skill share to scale."""

    @property
    def display_name(self) -> str:
        """The one name every screen and command shows for the skill: `Circle Runes (BIN)`."""
        return f"{self.rpg_name} ({self.id.upper()})"

    @field_validator("primitives")
    @classmethod
    def _primitive_ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for p in value:
            if not PRIMITIVE_RE.match(p):
                raise ValueError(f"{p!r} is not a primitive id (seq_, logic_, mem_, fmt_, attn_, xfm_)")
        if len(set(value)) != len(value):
            raise ValueError("primitives are listed twice")
        return value

    @model_validator(mode="after")
    def _levels_in_order(self) -> SkillConfig:
        numbers = [lv.level for lv in self.levels]
        if numbers != list(range(1, self.max_level + 1)):
            raise ValueError(f"levels must be numbered 1..{self.max_level} in order (got {len(numbers)})")
        return self

    def check_level(self, level: int) -> int:
        """`level` itself when it is in 1..max_level; ValueError otherwise."""
        if not 1 <= level <= self.max_level:
            raise ValueError(f"{self.id} has levels 1..{self.max_level}, not {level}")
        return level

    def level(self, level: int) -> LevelParams:
        """The dials of `level` (1..max_level); ValueError outside that range."""
        return self.levels[self.check_level(level) - 1]


class BinConfig(SkillConfig):
    """BIN: binary arithmetic in circled notation."""

    id: Literal["bin"]
    """Always `bin`."""
    levels: tuple[BinLevel, ...]
    """Per-level operations, tier mix and symbol-key share."""

    def level(self, level: int) -> BinLevel:
        """The dials of `level`."""
        return self.levels[self.check_level(level) - 1]


class SyConfig(SkillConfig):
    """SY: syllacrostic word puzzles."""

    id: Literal["sy"]
    """Always `sy`."""
    levels: tuple[SyLevel, ...]
    """Per-level signal-degradation dials."""

    def level(self, level: int) -> SyLevel:
        """The dials of `level`."""
        return self.levels[self.check_level(level) - 1]


SKILL_MODELS: dict[str, type[SkillConfig]] = {"bin": BinConfig, "sy": SyConfig}
"""Which model validates which skill id."""


def load_skill(path: Path) -> SkillConfig:
    """Load one skill YAML into the model its `id` names; one-line ConfigError on any problem."""
    path = Path(path)
    data = read_yaml(path)
    if not isinstance(data, dict):
        return validate_data(path, data, SkillConfig)  # raises the loader's usual message
    skill_id = data.get("id")
    if skill_id not in SKILL_MODELS:
        known = ", ".join(sorted(SKILL_MODELS))
        raise ConfigError(path, f"id: unknown skill {skill_id!r} (known: {known})")
    if path.stem != skill_id:
        raise ConfigError(path, f"id: {skill_id!r} does not match the file name {path.name!r}")
    return validate_data(path, data, SKILL_MODELS[skill_id])


def load_skills(configs_skills_dir: Path) -> dict[str, SkillConfig]:
    """Every `*.yaml` in the folder, keyed by id (file stem == id), in name order."""
    folder = Path(configs_skills_dir)
    if not folder.is_dir():
        raise ConfigError(folder, "skills config folder not found")
    return {p.stem: load_skill(p) for p in sorted(folder.glob("*.yaml"))}
