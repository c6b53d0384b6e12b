"""Hero configs (`configs/heroes/*.yaml`): which model, how it chats, and how it trains."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from realm_tui.config.common import Optimizer, Precision, Slug
from realm_tui.config.loader import ExactModel
from realm_tui.contract.protocol import TrainJob

_JOB: dict[str, Any] = {f.name: f.default for f in dataclasses.fields(TrainJob)}
"""`TrainJob`'s field defaults: the one set of training defaults (`TrainingDefaults` reads them)."""

PORTRAIT_MAX_LINES = 16
PORTRAIT_MAX_WIDTH = 40


class NanoSpec(ExactModel):
    """A tiny Qwen3-architecture model built from our own code, deterministically from `seed`."""

    hidden_size: int = Field(default=256, ge=8)
    """Width of the residual stream."""
    num_layers: int = Field(default=4, ge=1)
    """Decoder layers."""
    num_heads: int = Field(default=4, ge=1)
    """Query heads per layer."""
    num_kv_heads: int = Field(default=2, ge=1)
    """Key/value heads per layer (grouped-query attention); divides `num_heads`."""
    head_dim: int = Field(default=64, ge=4)
    """Width of one attention head."""
    intermediate_size: int = Field(default=512, ge=8)
    """Width of the MLP."""
    max_position_embeddings: int = Field(default=1024, ge=16)
    """Longest sequence the model supports."""
    vocab: Literal["bytes+chars", "bytes"] = "bytes+chars"
    """Tokenizer: byte-level, plus (`bytes+chars`) whole tokens for every character skills produce."""
    seed: int = Field(default=1234, ge=0)
    """Seed for the initial weights: the same seed builds the same model."""

    @model_validator(mode="after")
    def _heads(self) -> NanoSpec:
        if self.num_heads % self.num_kv_heads:
            raise ValueError(f"num_kv_heads ({self.num_kv_heads}) must divide num_heads ({self.num_heads})")
        return self


class HeroModel(ExactModel):
    """Where the hero's weights come from: a hub id / local path, or a builder."""

    hf_name: str | None = Field(default=None, min_length=1)
    """Hugging Face hub id (`Qwen/Qwen3-0.6B`) or a local folder; exclusive with `builder`."""
    builder: Literal["nano"] | None = None
    """Build the model from our own code instead (`nano`); exclusive with `hf_name`."""
    nano: NanoSpec | None = None
    """Shape of the nano model; only with `builder: nano` (defaults filled in when omitted)."""
    size_b: float = Field(gt=0)
    """Parameters in billions, for VRAM estimates and profile suggestions."""

    @model_validator(mode="before")
    @classmethod
    def _default_nano(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("builder") == "nano" and data.get("nano") is None:
            return {**data, "nano": {}}
        return data

    @model_validator(mode="after")
    def _one_source(self) -> HeroModel:
        if (self.hf_name is None) == (self.builder is None):
            raise ValueError("give exactly one of hf_name (hub id or path) or builder (nano)")
        if self.nano is not None and self.builder != "nano":
            raise ValueError("nano: only allowed with builder: nano")
        return self


class ChatSpec(ExactModel):
    """Chat template tokens (Qwen style: `<|im_start|>role\\ncontent<|im_end|>`)."""

    im_start: str = Field(default="<|im_start|>", min_length=1)
    """Token that opens a turn."""
    im_end: str = Field(default="<|im_end|>", min_length=1)
    """Token that closes a turn; loss includes it on assistant turns."""
    default_system: str | None = None
    """System prompt added when a conversation has none."""

    @model_validator(mode="after")
    def _distinct(self) -> ChatSpec:
        if self.im_start == self.im_end:
            raise ValueError("im_end: must differ from im_start")
        return self


class TrainingDefaults(ExactModel):
    """How a battle trains unless the player changes it; `job_kwargs()` fills the `TrainJob`.

    Every default but `eval_every_steps` (the parent's, 0 in a job: no evals) is `TrainJob`'s own,
    so the job and the config can never disagree on one."""

    batch_size: int = Field(default=_JOB["batch_size"], ge=1)
    """Examples (or packed rows) per micro-batch."""
    gradient_accumulation: int = Field(default=_JOB["grad_accum"], ge=1)
    """Micro-batches per optimizer step."""
    micro_batch_tokens: int = Field(default=_JOB["micro_batch_tokens"], ge=0)
    """Most tokens in one micro-batch (0: no cap): a step of long examples is cut into several
    forward/backward passes (the same update), which bounds memory and shows progress within it."""
    step_progress_after_s: float = Field(default=_JOB["step_progress_after_s"], ge=0)
    """A step with several micro-batches reports them (`StepProgress`) at most this often, and only
    once it has run this long (0: after every micro-batch)."""
    learning_rate: float = Field(default=_JOB["learning_rate"], gt=0, le=1)
    """Peak learning rate."""
    warmup_steps: int = Field(default=_JOB["warmup_steps"], ge=0)
    """Optimizer steps of linear warmup."""
    lr_schedule: Literal["constant", "cosine"] = _JOB["lr_schedule"]
    """Schedule after warmup."""
    weight_decay: float = Field(default=_JOB["weight_decay"], ge=0, lt=1)
    """Decoupled weight decay."""
    max_grad_norm: float = Field(default=_JOB["max_grad_norm"], gt=0)
    """Gradient clipping norm."""
    max_length: int = Field(default=_JOB["max_length"], ge=8)
    """Longest training sequence, in tokens; longer examples are truncated."""
    save_steps: int = Field(default=_JOB["save_steps"], ge=1)
    """Checkpoint every this many optimizer steps."""
    save_minutes: float = Field(default=_JOB["save_minutes"], gt=0)
    """... or every this many minutes, whichever comes first."""
    optimizer: Optimizer = _JOB["optimizer"]
    """Optimizer; must suit the memory profile's method."""
    packing: bool = _JOB["packing"]
    """Pack several examples per row (each attends only to itself)."""
    precision: Precision = _JOB["precision"]
    """`auto` (bf16 where supported), `bf16` or `fp32`."""
    seed: int = Field(default=_JOB["seed"], ge=0)
    """Seed for data order, dropout and anything random in training."""
    val_fraction: float = Field(default=_JOB["val_fraction"], ge=0, lt=0.5)
    """Share of quest data held out for validation loss."""
    eval_every_steps: int = Field(default=200, ge=1)
    """Run skill evals every this many optimizer steps."""

    def job_kwargs(self) -> dict[str, Any]:
        """These settings under `TrainJob`'s field names; `battle.setup.build_job` passes them all
        (`eval_every_steps` stays with the parent, which sends 0 when no skill is trained)."""
        data = self.model_dump(exclude={"eval_every_steps", "gradient_accumulation"})
        data["grad_accum"] = self.gradient_accumulation
        return data


class Retention(ExactModel):
    """Which checkpoints survive cleanup (the champion always does)."""

    keep_last: int = Field(default=3, ge=1)
    """Most recent checkpoints to keep."""
    keep_daily: bool = True
    """Also keep the last checkpoint of each day."""


class IdleBehaviour(ExactModel):
    """What the hero does when the quest queue is empty: forge skill quests."""

    skill_priorities: dict[str, float] = Field(default_factory=dict)
    """Relative weight per skill id for forged quests (missing skills: the curriculum decides)."""
    forge_count: int = Field(default=1, ge=0)
    """Forged quest files to keep queued; 0 turns idle forging off."""
    forge_batch: int = Field(default=1000, ge=1)
    """Examples per forged quest file."""

    @field_validator("skill_priorities")
    @classmethod
    def _non_negative(cls, value: dict[str, float]) -> dict[str, float]:
        bad = sorted(k for k, v in value.items() if v < 0)
        if bad:
            raise ValueError(f"priorities cannot be negative: {', '.join(bad)}")
        return value


class HeroConfig(ExactModel):
    """One hero: a model, its chat format, its memory profile and training defaults."""

    id: Slug
    """Hero id; equals the file name without `.yaml` and names `saves/heroes/<id>/`."""
    name: str = Field(min_length=1, max_length=40)
    """Display name."""
    description: str = ""
    """A line or two for the hero sheet."""
    portrait: str | None = None
    """ASCII/Unicode art for the Tavern (at most 16 lines of 40 columns)."""
    model: HeroModel
    """The model and where it comes from."""
    chat: ChatSpec = Field(default_factory=ChatSpec)
    """Chat template tokens."""
    memory_profile: Slug
    """Id of a profile in `configs/memory_profiles/` (checked when the realm's configs load)."""
    training_defaults: TrainingDefaults = Field(default_factory=TrainingDefaults)
    """How battles train by default."""
    retention: Retention = Field(default_factory=Retention)
    """Checkpoint retention."""
    steps_per_level: int = Field(default=1000, ge=1)
    """Optimizer steps (XP) per hero level."""
    idle: IdleBehaviour = Field(default_factory=IdleBehaviour)
    """Idle behaviour."""
    level_titles: dict[int, str] | None = None
    """Optional hero-specific titles by minimum level (`{1: Squire, 10: Knight}`)."""

    @field_validator("portrait")
    @classmethod
    def _portrait_fits(cls, value: str | None) -> str | None:
        if value is None:
            return None
        lines = value.rstrip("\n").split("\n")
        if len(lines) > PORTRAIT_MAX_LINES:
            raise ValueError(f"{len(lines)} lines; at most {PORTRAIT_MAX_LINES}")
        wide = max(len(line) for line in lines)
        if wide > PORTRAIT_MAX_WIDTH:
            raise ValueError(f"a line is {wide} columns wide; at most {PORTRAIT_MAX_WIDTH}")
        if "\t" in value:
            raise ValueError("tabs render unpredictably; use spaces")
        return value

    @field_validator("level_titles")
    @classmethod
    def _levels(cls, value: dict[int, str] | None) -> dict[int, str] | None:
        if value is not None:
            if any(level < 0 for level in value):
                raise ValueError("levels cannot be negative")
            if any(not title.strip() for title in value.values()):
                raise ValueError("titles cannot be empty")
        return value

    @model_validator(mode="after")
    def _fits_model(self) -> HeroConfig:
        nano = self.model.nano
        max_length = self.training_defaults.max_length
        if nano is not None and max_length > nano.max_position_embeddings:
            raise ValueError(
                f"training_defaults.max_length: {max_length} is longer than "
                f"model.nano.max_position_embeddings ({nano.max_position_embeddings})"
            )
        return self
