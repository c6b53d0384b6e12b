"""Typed records of the store, one model per table.

Every record forbids unknown fields, carries a ``schema_version`` and a natural key (``id``, or
``name`` for checkpoints). Times are float epoch seconds. Free-form fields (``notes``, ``data``,
``report``, ``results`` …) must hold JSON values only.
"""

from __future__ import annotations

import time
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

RECORD_SCHEMA_VERSION = 1

CampaignStatus = Literal["active", "paused", "archived", "maxed_out"]
QuestPriority = Literal["high", "normal", "low"]
QuestState = Literal["inbox", "queued", "processing", "done", "failed", "cancelled"]

CAMPAIGN_STATUSES: tuple[CampaignStatus, ...] = ("active", "paused", "archived", "maxed_out")
QUEST_PRIORITIES: tuple[QuestPriority, ...] = ("high", "normal", "low")
QUEST_STATES: tuple[QuestState, ...] = ("inbox", "queued", "processing", "done", "failed", "cancelled")


def now() -> float:
    """The current time as float epoch seconds (the unit of every time field)."""
    return time.time()


class Record(BaseModel):
    """Base of every stored record."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    schema_version: int = RECORD_SCHEMA_VERSION
    """Version of this record's shape; bumped when a migration changes it."""


class HeroRecord(Record):
    """A hero (a base model) known to this realm."""

    id: str = Field(min_length=1)
    """Hero id, as in ``configs/heroes/<id>.yaml``."""
    name: str = ""
    """Display name."""
    base_path: str | None = None
    """Where the built/downloaded base model lives, relative to the realm root."""
    parameters: int | None = None
    """Parameter count, when known."""
    created_at: float = Field(default_factory=now)


class CampaignRecord(Record):
    """One campaign: a hero training from a starting checkpoint towards its level cap."""

    id: str = Field(min_length=1)
    hero_id: str
    name: str = ""
    status: CampaignStatus = "active"
    created_at: float = Field(default_factory=now)
    updated_at: float = Field(default_factory=now)
    start_checkpoint: str | None = None
    """Checkpoint the campaign started from (None: the hero's base model)."""
    current_step: int = Field(default=0, ge=0)
    """Optimizer steps trained in this campaign (XP)."""
    skill_levels: dict[str, int] = Field(default_factory=dict)
    """Mastered level per skill."""
    peaks: dict[str, float | int] = Field(default_factory=dict)
    """Best values reached: lowest loss, highest accuracy, peak skill levels …"""
    effort: dict[str, float] = Field(default_factory=dict)
    """Accumulated strain per skill."""
    transitions: list[dict[str, Any]] = Field(default_factory=list)
    """Level transitions (skill, from, to, step, effort, gain, efficiency …)."""
    milestones: list[dict[str, Any]] = Field(default_factory=list)
    gold: int = 0
    quests_completed: int = Field(default=0, ge=0)
    new_game_plus_of: str | None = None
    """Campaign this one continues as New Game+."""
    training_path: str | None = None
    """The path the campaign follows (`technique@domain`, `realm paths`); None: the default path
    (the hero's own training_defaults in curriculum.yaml's mix)."""
    school: str | None = None
    """The school the campaign's battles train in (`scribe`, `arena`: the Armory's pick); None: the
    Scribe. `realm train --no-ui --school` overrides it for one battle."""


class CheckpointRecord(Record):
    """A ledger entry: one saved checkpoint. Writing it is what commits the checkpoint."""

    name: str = Field(min_length=1)
    """Folder name, e.g. ``checkpoint-1200-20250101-1200``; the key."""
    campaign_id: str
    hero_id: str
    step: int = Field(ge=0)
    created_at: float = Field(default_factory=now)
    path: str
    """Checkpoint folder relative to the realm root (POSIX separators)."""
    train_loss: float | None = None
    val_loss: float | None = None
    lr: float | None = None
    quest_id: str | None = None
    skill_levels: dict[str, int] = Field(default_factory=dict)
    size_bytes: int = Field(default=0, ge=0)
    adapter: bool = False
    """True when only adapter weights (LoRA …) were saved."""
    blessing: str | None = None
    """Temple verdict: blessed | partial | cursed (None until the rituals ran)."""
    quality: float | None = None
    champion: bool = False
    damaged: str | None = None
    """Why the checkpoint failed verification (set when it was found bad; never resumed or exported)."""
    notes: dict[str, Any] = Field(default_factory=dict)
    training_path: str | None = None
    """The path of the battle that saved it (`technique@domain`); None: the default path."""

    @field_validator("path")
    @classmethod
    def _relative_path(cls, value: str) -> str:
        value = value.replace("\\", "/")
        if PurePosixPath(value).is_absolute() or PureWindowsPath(value).is_absolute():
            raise ValueError(f"checkpoint path must be relative to the realm root, got {value!r}")
        return value


class EvalRecord(Record):
    """One evaluation of a skill level at a step. The id defaults to campaign:skill:level:step."""

    id: str = ""
    campaign_id: str
    step: int = Field(ge=0)
    checkpoint: str | None = None
    skill: str
    level: int = Field(ge=0)
    accuracy: float = Field(ge=0.0, le=1.0)
    total: int = Field(default=0, ge=0)
    """Number of problems evaluated."""
    results: list[dict[str, Any]] = Field(default_factory=list)
    """Per-problem results (prompt, expected, answer, correct, primitives …)."""
    created_at: float = Field(default_factory=now)
    data_version: int = Field(default=1, ge=1)
    """Version of the skill's generator that made the problems (`skills.versions`); records
    stored before versions were recorded have none and read as 1."""

    @model_validator(mode="before")
    @classmethod
    def _default_id(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("id"):
            key = ":".join(str(data.get(f)) for f in ("campaign_id", "skill", "level", "step"))
            data = {**data, "id": key}
        return data


class QuestRecord(Record):
    """A quest file on the board and what happened to it."""

    id: str = Field(min_length=1)
    path: str
    """The quest file, relative to the realm root."""
    priority: QuestPriority = "normal"
    state: QuestState = "inbox"
    attempts: int = Field(default=0, ge=0)
    reasons: list[str] = Field(default_factory=list)
    """Why it failed or was rejected, one line each."""
    created_at: float = Field(default_factory=now)
    updated_at: float = Field(default_factory=now)
    source_checkpoint: str | None = None
    report: dict[str, Any] = Field(default_factory=dict)


class AchievementRecord(Record):
    """An unlocked achievement. Key: (id, campaign_id); campaign_id None means realm-wide."""

    id: str = Field(min_length=1)
    campaign_id: str | None = None
    unlocked_at: float = Field(default_factory=now)
    title: str = ""


class EventRecord(Record):
    """Something that happened (level up, new champion, regression …), for the log and history."""

    kind: str = Field(min_length=1)
    campaign_id: str | None = None
    at: float = Field(default_factory=now)
    data: dict[str, Any] = Field(default_factory=dict)


ALL_RECORDS: tuple[type[Record], ...] = (
    HeroRecord,
    CampaignRecord,
    CheckpointRecord,
    EvalRecord,
    QuestRecord,
    AchievementRecord,
    EventRecord,
)
