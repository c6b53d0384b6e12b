"""The quest module manifest (`quests/modules/<id>/manifest.yaml`); documented in docs/modules.md."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints, field_validator, model_validator

from realm_tui.config.common import Slug
from realm_tui.config.loader import ExactModel, load_model
from realm_tui.rules.primitives import PRIMITIVE_FAMILIES, PRIMITIVES

MANIFEST_NAME = "manifest.yaml"

SEMVER_PATTERN = (
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
"""Semantic Versioning 2.0.0 (semver.org), e.g. `1.0.0`, `1.2.0-beta.1`."""
SemVer = Annotated[str, StringConstraints(pattern=SEMVER_PATTERN, max_length=64)]

_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")
_PRIMITIVE = re.compile(r"^[a-z]+_[a-z0-9_]+$")


def version_key(version: str) -> tuple[int, int, int, int, str]:
    """Sort key of a semver string (a pre-release sorts before its release)."""
    match = re.match(SEMVER_PATTERN, version)
    if match is None:
        return (0, 0, 0, 0, version)
    major, minor, patch, pre = match.group(1), match.group(2), match.group(3), match.group(4)
    return (int(major), int(minor), int(patch), 0 if pre else 1, pre or "")


def _module_path(folder: str) -> AfterValidator:
    def check(value: str) -> str:
        if "\\" in value or value.startswith("/") or ":" in value:
            raise ValueError(f"{value!r}: use a relative path with forward slashes")
        parts = value.split("/")
        if any(p in ("", ".", "..") or not _SEGMENT.match(p) for p in parts):
            raise ValueError(f"{value!r}: each part must be a plain name (letters, digits, . _ -), no '..'")
        if parts[0] != folder or len(parts) < 2:
            raise ValueError(f"{value!r}: must lie under {folder}/")
        if not value.endswith(".jsonl"):
            raise ValueError(f"{value!r}: must be a .jsonl file")
        return value

    return AfterValidator(check)


DataPath = Annotated[str, _module_path("data")]
EvalPath = Annotated[str, _module_path("eval")]


class Primitives(ExactModel):
    """The primitives (see `rules.primitives`) the module exercises."""

    required: list[str] = Field(default_factory=list)
    """Primitives every example trains."""
    optional: list[str] = Field(default_factory=list)
    """Primitives some examples touch."""

    @field_validator("required", "optional")
    @classmethod
    def _known_family(cls, value: list[str]) -> list[str]:
        for name in value:
            if not _PRIMITIVE.match(name) or not name.startswith(tuple(PRIMITIVE_FAMILIES)):
                families = ", ".join(PRIMITIVE_FAMILIES)
                raise ValueError(f"{name!r} is not a primitive id (families: {families})")
        if len(set(value)) != len(value):
            raise ValueError("a primitive is listed twice")
        return value

    @model_validator(mode="after")
    def _disjoint(self) -> Primitives:
        both = sorted(set(self.required) & set(self.optional))
        if both:
            raise ValueError(f"optional: also required: {', '.join(both)}")
        return self

    def unknown(self) -> list[str]:
        """Ids of a known family that are not (yet) in the primitive catalogue."""
        return [p for p in self.required + self.optional if p not in PRIMITIVES]


class Requirements(ExactModel):
    """What a hero needs before the module is trained."""

    min_level: int = Field(default=0, ge=0)
    """Minimum hero level."""
    prerequisites: list[Slug] = Field(default_factory=list)
    """Ids of modules that must be installed (and are trained first)."""


class ModuleSkill(ExactModel):
    """A skill taught by the module, with the levels its data covers."""

    id: Slug
    """Skill id (may be one of the realm's skills or new to the module)."""
    name: str = ""
    """Display name."""
    levels: list[int] = Field(min_length=1)
    """Levels the module ships data for, increasing."""
    max_level: int = Field(ge=1)
    """Highest level the skill can reach."""

    @model_validator(mode="after")
    def _levels(self) -> ModuleSkill:
        if any(level < 1 for level in self.levels) or self.levels != sorted(set(self.levels)):
            raise ValueError("levels: must be increasing levels of 1 or more, each once")
        if self.levels[-1] > self.max_level:
            raise ValueError(f"levels: {self.levels[-1]} is above max_level {self.max_level}")
        return self


class DataFile(ExactModel):
    """One training file: chat JSONL at one skill level."""

    path: DataPath
    """Relative to the module root, under `data/`."""
    skill: Slug | None = None
    """The skill it trains (may be left out when the module has one skill)."""
    skill_level: int = Field(ge=1)
    """The level it trains."""
    examples: int = Field(ge=1)
    """Number of examples (lines) in the file; checked on validation."""
    difficulty: float = Field(default=0.5, ge=0, le=1)
    """Relative difficulty within the module, 0 (easiest) to 1."""


class EvalSet(ExactModel):
    """One held-out evaluation file at one skill level: the assistant turn is the gold answer."""

    path: EvalPath
    """Relative to the module root, under `eval/`."""
    skill: Slug | None = None
    """The skill it evaluates (may be left out when the module has one skill)."""
    skill_level: int = Field(ge=1)
    """The level it evaluates."""
    examples: int = Field(ge=1)
    """Number of problems (lines); checked on validation."""


class Evaluation(ExactModel):
    """How mastery of a level is judged."""

    type: Literal["accuracy"] = "accuracy"
    """Share of eval problems answered right."""
    match: Literal["exact", "strip", "casefold"] = "strip"
    """How an answer is compared with the gold: exactly, ignoring surrounding space, or also case."""
    threshold: float = Field(default=0.8, gt=0, le=1)
    """Accuracy that masters a level."""
    evals_required: int = Field(default=3, ge=1)
    """Consecutive evals whose mean must reach the threshold."""
    sets: list[EvalSet] = Field(min_length=1)
    """The eval files, by skill level."""


class CurriculumRule(ExactModel):
    """How the module's levels follow each other in training."""

    progression: Literal["accuracy_gated", "sequential", "mixed"] = "accuracy_gated"
    """`accuracy_gated`: next level once the current one is mastered; `sequential`: levels in turn
    by data size; `mixed`: all levels at once, weighted by difficulty."""
    min_accuracy_to_advance: float = Field(default=0.8, gt=0, le=1)
    """Accuracy needed to move on (accuracy_gated)."""
    cooldown_on_fail: int = Field(default=100, ge=0)
    """Optimizer steps before a failed level-up eval is tried again."""


class ModuleManifest(ExactModel):
    """A shareable quest module: metadata, skills, data files, evaluation and curriculum rule."""

    id: Slug
    """Module id: names its folder `quests/modules/<id>/` and its entry in curriculum.yaml."""
    name: str = Field(min_length=1, max_length=80)
    """Display name."""
    version: SemVer
    """Semantic version (`MAJOR.MINOR.PATCH`), compared when installing over an older copy."""
    author: str = Field(min_length=1, max_length=200)
    """Who made it."""
    license: str = Field(min_length=1, max_length=100)
    """License of the data (an SPDX id such as CC-BY-4.0)."""
    description: str = Field(default="", max_length=4000)
    """What the module teaches."""
    primitives: Primitives = Field(default_factory=Primitives)
    """Primitives exercised."""
    requirements: Requirements = Field(default_factory=Requirements)
    """Hero level and prerequisite modules."""
    skills: list[ModuleSkill] = Field(min_length=1)
    """Skills taught."""
    data: list[DataFile] = Field(min_length=1)
    """Training files by skill level."""
    evaluation: Evaluation | None = None
    """Held-out evaluation; without it the module's levels cannot be mastered, only trained."""
    curriculum: CurriculumRule = Field(default_factory=CurriculumRule)
    """Progression rule."""
    drill_mode: bool = False
    """Pure primitive drills (no skill context): used for remediation of weak primitives."""

    @model_validator(mode="after")
    def _consistent(self) -> ModuleManifest:
        skills = {s.id: s for s in self.skills}
        if len(skills) != len(self.skills):
            raise ValueError("skills: a skill id is listed twice")
        if self.id in self.requirements.prerequisites:
            raise ValueError("requirements.prerequisites: a module cannot require itself")
        files: list[tuple[str, DataFile | EvalSet]] = [("data", f) for f in self.data]
        files += [("evaluation.sets", f) for f in (self.evaluation.sets if self.evaluation else [])]
        seen: set[str] = set()
        for where, entry in files:
            skill_id = entry.skill or (self.skills[0].id if len(self.skills) == 1 else None)
            if skill_id is None:
                raise ValueError(f"{where}: {entry.path}: name its skill (the module has several)")
            if skill_id not in skills:
                raise ValueError(f"{where}: {entry.path}: unknown skill {skill_id!r}")
            if entry.skill_level not in skills[skill_id].levels:
                raise ValueError(f"{where}: {entry.path}: level {entry.skill_level} is not in {skill_id}.levels")
            folded = entry.path.casefold()
            if folded in seen:
                raise ValueError(f"{where}: {entry.path} is listed twice")
            seen.add(folded)
        for skill in self.skills:
            for level in skill.levels:
                if not any(self.skill_of(f) == skill.id and f.skill_level == level for f in self.data):
                    raise ValueError(f"data: no file for {skill.id} level {level}")
        return self

    def skill_of(self, entry: DataFile | EvalSet) -> str:
        """The skill a data or eval entry belongs to."""
        return entry.skill or self.skills[0].id

    def files(self) -> list[DataFile | EvalSet]:
        """Every data and eval entry."""
        return [*self.data, *(self.evaluation.sets if self.evaluation else [])]


def load_manifest(path: Path) -> ModuleManifest:
    """Load and check a manifest; ConfigError names the file and the field."""
    return load_model(path, ModuleManifest)
