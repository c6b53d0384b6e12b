"""The trainer pipe protocol: frozen, picklable commands (parent → child) and events (child → parent).

Plain dataclasses of plain values only, so both sides can import this without torch or textual.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

# ---------------------------------------------------------------- reasons and kinds


class StopReason(StrEnum):
    """Why a battle stopped (`Stop.reason` asks for one, `Stopped.reason` reports it).

    A StrEnum: a member equals its string, so the store's event log and the `--json` lines carry
    the same plain strings as before, and a reason read back from JSON compares equal.

    - `finished`: the battle reached its `max_steps`, or its quest ran out of examples.
    - `requested`: the player asked (the Battle screen's stop key, a `Stop` command).
    - `signal`: SIGINT/SIGTERM reached the trainer or the headless parent (Ctrl-C).
    - `closing`: the parent is going away on purpose (the game quits, the bridge is closed).
    - `parent_gone`: the trainer lost its parent (the pipe closed without a `Stop`).
    - `error`: the trainer failed; a fatal `Error` event came just before.
    - `disk_full`: a stop arrived while the disk was full, so no checkpoint could be saved.
    - `plateau`: the parent stopped a `--stop-when plateau` battle: no trained skill's accuracy at
      its training level improved over the last N evals (`rules.plateau`).
    - `crashed`: never sent by a trainer: the parent's bridge writes it when the child died
      without a `Stopped` (killed, segfault), after a fatal `Error` of kind `crash`.
    """

    FINISHED = "finished"
    REQUESTED = "requested"
    SIGNAL = "signal"
    CLOSING = "closing"
    PARENT_GONE = "parent_gone"
    ERROR = "error"
    DISK_FULL = "disk_full"
    CRASHED = "crashed"
    PLATEAU = "plateau"


GOOD_ENDINGS: frozenset[StopReason] = frozenset(
    {StopReason.FINISHED, StopReason.REQUESTED, StopReason.SIGNAL, StopReason.CLOSING, StopReason.PLATEAU}
)
"""Stops that are nobody's failure: the headless exit code is 0 and the game shows the trainer idle,
not dead. Every other reason is a battle that died."""


class ErrorKind(StrEnum):
    """What went wrong in an `Error` event (a StrEnum: equal to its string in JSON and the store).

    - `error`: a failure with no kind of its own (a `RealmError` in the trainer, a bad first command).
    - `bad_input`: the trainer cannot use what it was given (a quest, a checkpoint, the hero's knobs).
    - `crash`: an unexpected exception in the trainer, or the child died (written by the bridge).
    - `nonfinite`: a non-finite loss or gradient (the update is skipped), or weights not saved.
    - `disk_full`: a checkpoint could not be written for lack of space (the battle waits).
    - `eval`: one eval failed; the battle goes on.
    """

    ERROR = "error"
    BAD_INPUT = "bad_input"
    CRASH = "crash"
    NONFINITE = "nonfinite"
    DISK_FULL = "disk_full"
    EVAL = "eval"


# ---------------------------------------------------------------- the job


@dataclass(frozen=True)
class TrainJob:
    """Everything the trainer child needs to run one battle; built by the parent from configs.

    The training fields' defaults (batch_size … val_fraction) are the one set of training defaults:
    `config.hero.TrainingDefaults` takes its own from here, and the parent fills them in from the
    hero's `training_defaults.job_kwargs()`."""

    realm_root: str
    hero_id: str
    hero: dict[str, Any]
    """The validated hero config, as `HeroConfig.model_dump()`."""
    quest_paths: tuple[str, ...]
    """Chat JSONL files to train on (already validated by the parent)."""
    checkpoints_dir: str
    campaign_id: str = ""
    quest_id: str = ""
    max_steps: int = 100
    """Optimizer steps to reach (absolute: a resumed battle continues towards the same number)."""
    batch_size: int = 8
    grad_accum: int = 1
    learning_rate: float = 1e-4
    warmup_steps: int = 10
    lr_schedule: str = "constant"
    """`constant` or `cosine` (after warmup)."""
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    max_length: int = 512
    packing: bool = True
    precision: str = "auto"
    """`auto` (bf16 where supported), `bf16` or `fp32`."""
    optimizer: str = "adamw"
    seed: int = 1234
    save_steps: int = 100
    save_minutes: float = 10.0
    val_fraction: float = 0.05
    quest_passes: float = 1.0
    """Epochs of the quest's examples that finish the quest (QuestFinished); a battle that ends
    before keeps the quest in progress and the next one continues it from the same position."""
    resume_from: str | None = None
    """A checkpoint folder to continue from, exactly (weights, optimizer, RNG, data position)."""
    min_free_disk_mb: int = 100
    step_events_per_s: float = 4.0
    micro_batch_tokens: int = 0
    """Most tokens in one micro-batch (0: no cap, `batch_size` examples each): a step of long
    examples becomes several forward/backward passes, which bounds memory and lets the trainer
    send `StepProgress` between them. The optimizer step is the same either way."""
    step_progress_after_s: float = 1.0
    """A step sends `StepProgress` after a micro-batch once this long has passed since the step
    began or since its previous one (0: after every micro-batch but the last)."""
    curriculum: dict[str, Any] = field(default_factory=dict)
    """Mix of quest data and generated skill data (see `ProgressionKeeper.curriculum_payload`):
    `{"strategy", "focus_skill", "quest_share", "review_share", "skills": {id: {"level", "mastered",
    "weight", "review_levels", "maintenance_levels"}}}`, plus `"modules": [{"id", "weight", "priority",
    "files", "levels", "skipped"}]` when curriculum.yaml lists modules (`realm_tui.quests.compose`:
    absolute paths, resolved by the parent). Empty: quest data only."""
    eval_every_steps: int = 0
    """Evaluate each curriculum skill at its training level every N steps (0: only when asked).
    An eval due at a checkpoint step runs before that checkpoint is saved."""
    eval_samples: int = 32
    """Held-out problems per (skill, level) evaluation of a skill not in `eval_samples_by_skill`."""
    eval_samples_by_skill: dict[str, int] = field(default_factory=dict)
    """Skill id → held-out problems per evaluation of that skill (its `eval_samples_per_level`)."""
    memory_profile: dict[str, Any] = field(default_factory=dict)
    """The hero's validated memory profile, as `MemoryProfile.model_dump(mode="json")`: method
    (full/lora/qlora/galore), lora, galore, attention, gradient_checkpointing, quantization,
    optimizer_args. Empty: full training, sdpa."""
    optimizer_args: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments for the optimizer, over those the memory profile gives it (its
    `optimizer_args` when `optimizer` is the profile's own, its `galore:` section for GaLore)."""
    school: str = "scribe"
    """How the hero learns: `scribe` (SFT), `judge` (DPO on preference quests), `whisper`
    (distillation from a teacher). See `realm_tui.trainer.schools`."""
    school_options: dict[str, Any] = field(default_factory=dict)
    """Judge: `beta`, `reference` (checkpoint folder; default: the weights the battle starts from,
    or the LoRA base with adapters disabled), `sft_weight`. Whisper: `teacher` (checkpoint or HF
    folder with the same tokenizer), `temperature`, `alpha` (share of plain cross-entropy)."""
    oracle_loss: dict[str, Any] | None = None
    """The Oracle (Fortune Teller) enhancer, on any school: `{"signal": entropy | confidence |
    perplexity | margin, "min_weight": 0.1, "max_weight": 10.0}`. None: off."""


# ---------------------------------------------------------------- commands


@dataclass(frozen=True)
class Start:
    job: TrainJob


@dataclass(frozen=True)
class Pause:
    pass


@dataclass(frozen=True)
class Resume:
    pass


@dataclass(frozen=True)
class Stop:
    """Checkpoint at the next step boundary, then exit 0."""

    reason: StopReason = StopReason.REQUESTED
    save: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "reason", StopReason(self.reason))  # a plain string must name a reason


@dataclass(frozen=True)
class SaveNow:
    pass


@dataclass(frozen=True)
class SetCurriculum:
    curriculum: dict[str, Any]


@dataclass(frozen=True)
class Evaluate:
    skill: str
    level: int
    request_id: str = ""


@dataclass(frozen=True)
class Generate:
    messages: tuple[tuple[str, str], ...]
    """(role, content) pairs."""
    max_new_tokens: int = 64
    checkpoint: str | None = None
    request_id: str = ""


Command = Start | Pause | Resume | Stop | SaveNow | SetCurriculum | Evaluate | Generate

# ---------------------------------------------------------------- events


def _now() -> float:
    return time.time()


@dataclass(frozen=True)
class Hello:
    pid: int
    torch_version: str
    device: str
    precision: str
    hero_id: str = ""
    parameters: int = 0
    trainable_parameters: int = 0
    at: float = field(default_factory=_now)

    def __post_init__(self) -> None:
        # torch.__version__ is a TorchVersion (a str subclass): pickled as such, unpickling it in
        # the parent would import torch there (seconds of CPU beside the trainer, hundreds of MB).
        object.__setattr__(self, "torch_version", str(self.torch_version))


@dataclass(frozen=True)
class Step:
    step: int
    max_steps: int
    loss: float
    """Mean training loss of this optimizer step (over its micro-batches)."""
    lr: float
    grad_norm: float
    tokens_per_s: float
    eta_s: float
    tokens: int
    """Tokens trained so far in this battle."""
    epoch: float = 0.0
    elapsed_s: float = 0.0
    metrics: dict[str, float] = field(default_factory=dict)
    """The school's own numbers for this step: `dpo_margin`, `dpo_accuracy`, `kl`, `ce`,
    `oracle_weight` (mean token weight), ... Empty for plain Scribe."""
    quest_progress: float | None = None
    """Share of the quest's passes trained so far, 0..1 (None: no quest in this battle)."""
    mix: dict[str, int] = field(default_factory=dict)
    """Examples this step drew from each source: skill ids, `quest`, `module:<id>`."""
    at: float = field(default_factory=_now)


@dataclass(frozen=True)
class StepProgress:
    """A long optimizer step in flight: `done` of its `total` micro-batches trained (`tokens_done`
    of `tokens`; 0 when the school cuts its own micro-batches). Sent between micro-batches at most
    every `TrainJob.step_progress_after_s` (never for a step shorter than that), so the parent sees
    something move during a step of long examples; the `Step` ends it."""

    step: int
    """The step being trained (the last finished one + 1)."""
    done: int
    total: int
    tokens_done: int = 0
    tokens: int = 0
    at: float = field(default_factory=_now)


@dataclass(frozen=True)
class EvalResult:
    step: int
    skill: str
    level: int
    accuracy: float
    total: int
    results: tuple[dict[str, Any], ...] = ()
    """Per problem: prompt, expected, got, correct, primitives."""
    request_id: str = ""
    val_loss: float | None = None
    at: float = field(default_factory=_now)


@dataclass(frozen=True)
class EvalProgress:
    """An eval in flight: `done` of `total` problems answered (sent at most about once a second;
    the `EvalResult` ends it). `cut_short`: it ended without a result (a stop cut it short, or it
    failed), so it never counts toward a level."""

    skill: str
    level: int
    step: int
    done: int
    total: int
    eta_s: float | None = None
    request_id: str = ""
    cut_short: bool = False
    at: float = field(default_factory=_now)


@dataclass(frozen=True)
class CheckpointSaved:
    step: int
    path: str
    name: str
    train_loss: float | None
    val_loss: float | None
    """Held-out loss of what the battle trains: `val_losses` weighed by `val_drawn`
    (`rules.validation.mixed_val_loss`); DEF is 100 / it."""
    lr: float
    size_bytes: int
    quest_id: str = ""
    adapter: bool = False
    notes: dict[str, Any] = field(default_factory=dict)
    val_losses: dict[str, float] = field(default_factory=dict)
    """Held-out loss per source (`quest`, skill ids), measured at this checkpoint."""
    val_drawn: dict[str, int] = field(default_factory=dict)
    """Examples drawn per source (the `Step` events' `mix`) since the previous checkpoint."""
    at: float = field(default_factory=_now)


@dataclass(frozen=True)
class CheckpointProgress:
    """A checkpoint being saved at `step`: its held-out loss pass (`stage` `val <source>`, `done`
    of `total` micro-batches) and its writes (`writing weights`, `writing optimizer`, `verifying`;
    `done` and `total` 0). The first is sent when the save begins, the rest at most every
    `TrainJob.step_progress_after_s` and, while a write runs, again about every second, so a slow
    disk is never silent. The `CheckpointSaved` ends it (or an `Error`: the save failed)."""

    step: int
    stage: str
    done: int = 0
    total: int = 0
    at: float = field(default_factory=_now)


@dataclass(frozen=True)
class QuestStarted:
    quest_id: str
    paths: tuple[str, ...]
    examples: int
    tokens: int
    at: float = field(default_factory=_now)


@dataclass(frozen=True)
class QuestFinished:
    """Sent once, when the quest's examples were trained for its passes (never because a battle ended)."""

    quest_id: str
    steps: int
    """Steps that trained examples of this quest (over every battle it took)."""
    final_loss: float | None
    at: float = field(default_factory=_now)


@dataclass(frozen=True)
class Log:
    message: str
    level: str = "info"
    at: float = field(default_factory=_now)


@dataclass(frozen=True)
class Error:
    message: str
    fatal: bool = False
    kind: ErrorKind = ErrorKind.ERROR
    at: float = field(default_factory=_now)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", ErrorKind(self.kind))  # events read back from JSON carry strings


@dataclass(frozen=True)
class Generated:
    """The reply to a `Generate`: a few partial events (`done=False`), then the final one."""

    text: str
    """The reply so far (each partial event repeats the text before it; the final one is whole)."""
    request_id: str = ""
    done: bool = True
    at: float = field(default_factory=_now)


@dataclass(frozen=True)
class Stopped:
    step: int
    reason: StopReason
    checkpoint: str | None = None
    at: float = field(default_factory=_now)

    def __post_init__(self) -> None:
        object.__setattr__(self, "reason", StopReason(self.reason))  # events read back from JSON carry strings


Event = (
    Hello
    | Step
    | StepProgress
    | EvalResult
    | EvalProgress
    | CheckpointSaved
    | CheckpointProgress
    | QuestStarted
    | QuestFinished
    | Log
    | Error
    | Generated
    | Stopped
)

COMMAND_TYPES: tuple[type, ...] = (Start, Pause, Resume, Stop, SaveNow, SetCurriculum, Evaluate, Generate)
EVENT_TYPES: tuple[type, ...] = (
    Hello,
    Step,
    EvalResult,
    EvalProgress,
    CheckpointSaved,
    QuestStarted,
    QuestFinished,
    Log,
    Error,
    Generated,
    Stopped,
    StepProgress,
    CheckpointProgress,
)
