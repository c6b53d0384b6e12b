"""Domains, physics and techniques (`configs/domains/`, `configs/physics/`, `configs/techniques/`)
and the paths that join them (`configs/paths.yaml`).

A **domain** is where the hero trains: which skills and quest modules, by weight, and how often
they are evaluated. A **physics** is how the weights move: optimizer and its arguments, lr
schedule, precision, clipping, accumulation (a field left out keeps the hero's own setting). A
**technique** is a physics with a name, an icon and the heroes / memory profiles it suits. A
**path** is a technique in a domain, named `technique@domain` (`muon@reasoning`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from realm_tui.config.common import Method, Optimizer, Precision, Slug
from realm_tui.config.curriculum import ModuleWeight, SkillWeight
from realm_tui.config.loader import ExactModel
from realm_tui.config.memory_profile import SizeRange


class DomainEval(ExactModel):
    """How a domain's skills are judged: each at its training level, every `every_steps` steps."""

    every_steps: int | None = Field(default=None, ge=1)
    """Evaluate every this many optimizer steps; null keeps the hero's `eval_every_steps`."""


class Domain(ExactModel):
    """Where the hero trains: the curriculum's skills and modules, and their eval."""

    id: Slug
    """Domain id; equals the file name without `.yaml`."""
    name: str = Field(min_length=1, max_length=60)
    """Display name (`Domain of Reasoning`)."""
    icon: str = Field(default="", max_length=4)
    """One glyph for tables and the Armory."""
    summary: str = ""
    """One line for `realm paths` and the Armory."""
    skills: dict[Slug, SkillWeight] = Field(min_length=1)
    """Skill id → weight, enabled, joins_after: replaces `curriculum.yaml`'s `skills:` on this path."""
    modules: list[ModuleWeight] = Field(default_factory=list)
    """Quest modules composed in, by weight: replaces `curriculum.yaml`'s `modules:` on this path."""
    eval: DomainEval = Field(default_factory=DomainEval)
    """How often the domain's skills are evaluated."""


class OptimizerSpec(ExactModel):
    """The optimizer a physics uses, by one of the Armory's names, and its keyword arguments."""

    type: Optimizer
    """One of the optimizer names `trainer/optimizers.py` builds (`config.common.OPTIMIZERS`)."""
    args: dict[str, Any] = Field(default_factory=dict)
    """Keyword arguments for the optimizer (betas, eps, momentum, ns_steps …), over the profile's."""


class Physics(ExactModel):
    """How the weights move; every field but `optimizer` left out keeps the hero's own setting."""

    id: Slug
    """Physics id; equals the file name without `.yaml`."""
    name: str = Field(min_length=1, max_length=60)
    """Display name (`Muon Physics`)."""
    optimizer: OptimizerSpec
    """The optimizer and its arguments."""
    methods: list[Method] | None = None
    """Training methods (the memory profile's `method`) this physics is meant for; null: any the
    optimizer goes with."""
    learning_rate: float | None = Field(default=None, gt=0, le=1)
    """Peak learning rate; null keeps the hero's (a learning rate is a matter of model size)."""
    lr_schedule: Literal["constant", "cosine"] | None = None
    """Schedule after warmup; null keeps the hero's."""
    warmup_steps: int | None = Field(default=None, ge=0)
    """Optimizer steps of linear warmup; null keeps the hero's."""
    weight_decay: float | None = Field(default=None, ge=0, lt=1)
    """Decoupled weight decay; null keeps the hero's."""
    precision: Precision | None = None
    """`auto`, `bf16` or `fp32`; null keeps the hero's."""
    max_grad_norm: float | None = Field(default=None, gt=0)
    """Gradient clipping norm; null keeps the hero's."""
    gradient_accumulation: int | None = Field(default=None, ge=1)
    """Micro-batches per optimizer step (within the profile's `max_grad_accum`); null keeps the hero's."""

    def overrides(self) -> dict[str, Any]:
        """The `training_defaults` fields this physics sets (those it leaves out keep the hero's)."""
        fields = (
            "learning_rate",
            "lr_schedule",
            "warmup_steps",
            "weight_decay",
            "precision",
            "max_grad_norm",
            "gradient_accumulation",
        )
        out: dict[str, Any] = {"optimizer": self.optimizer.type}
        out.update({k: getattr(self, k) for k in fields if getattr(self, k) is not None})
        return out

    def summary(self) -> str:
        """One line: the optimizer and each setting the physics sets (`muon · clip 1 · rest: hero's`)."""
        labels = {
            "learning_rate": "lr",
            "lr_schedule": "",
            "warmup_steps": "warmup",
            "weight_decay": "wd",
            "precision": "",
            "max_grad_norm": "clip",
            "gradient_accumulation": "accum",
        }
        parts: list[str] = [self.optimizer.type]
        for key, label in labels.items():
            value = getattr(self, key)
            if value is not None:
                shown = f"{value:g}" if isinstance(value, float) else str(value)
                parts.append(f"{label} {shown}".strip())
        if len(parts) < len(labels) + 1:
            parts.append("rest: hero's")
        return " · ".join(parts)


class Suits(ExactModel):
    """Who a technique is recommended for (advice, and checked: each named profile must accept it)."""

    sizes_b: SizeRange | None = None
    """Model sizes (billions of parameters) it suits; null: any."""
    profiles: list[Slug] = Field(default_factory=list)
    """Memory profiles it suits: each must accept the physics (`realm validate` checks)."""
    heroes: list[Slug] = Field(default_factory=list)
    """Heroes it suits: each hero's memory profile must accept the physics (`realm validate` checks)."""


class Technique(ExactModel):
    """A physics with a name, an icon and recommendations."""

    id: Slug
    """Technique id; equals the file name and is the first half of a path id (`muon@reasoning`)."""
    name: str = Field(min_length=1, max_length=40)
    """Short name (`Muon`)."""
    rpg_name: str = Field(min_length=1, max_length=60)
    """The game's name for it (`The Orthogonal Way`)."""
    icon: str = Field(min_length=1, max_length=4)
    """One glyph."""
    summary: str = ""
    """One line for `realm paths`, the Armory and the lore."""
    physics: Slug
    """Id of a file in `configs/physics/`."""
    suits: Suits = Field(default_factory=Suits)
    """Which hero sizes, profiles and heroes it is recommended for."""


class PathEntry(ExactModel):
    """One path offered: a technique in a domain."""

    technique: Slug
    """Id of a file in `configs/techniques/`."""
    domain: Slug
    """Id of a file in `configs/domains/`."""
    summary: str = ""
    """Optional line shown with the path."""

    @property
    def id(self) -> str:
        return f"{self.technique}@{self.domain}"


class PathsFile(ExactModel):
    """`configs/paths.yaml`: the paths `realm paths`, `realm train --path` and the Armory offer."""

    paths: list[PathEntry] = Field(default_factory=list)
    """Each a technique in a domain; listed once."""

    @model_validator(mode="after")
    def _unique(self) -> PathsFile:
        ids = [p.id for p in self.paths]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"paths: listed twice: {', '.join(dupes)}")
        return self
