"""Plain values the UI shows: trainer state, live battle snapshots, log lines.

No textual and no torch here: the battle worker builds these in its thread and hands them to the
UI inside messages, so they are frozen and cheap to copy.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum

from realm_tui.rules import HeroStats
from realm_tui.rules.answers import EvalAnswers


class TrainerState(StrEnum):
    """What the trainer child is doing, as the status bar shows it."""

    IDLE = "idle"
    STARTING = "starting"
    TRAINING = "training"
    PAUSED = "paused"
    STOPPING = "stopping"
    DEAD = "dead"

    @property
    def busy(self) -> bool:
        """A battle is in flight (a child exists or is being planned)."""
        return self in (TrainerState.STARTING, TrainerState.TRAINING, TrainerState.PAUSED, TrainerState.STOPPING)


@dataclass(frozen=True)
class StepPoint:
    """One plotted point of the battle: step, loss and strain."""

    step: int
    loss: float
    strain: float


Points = tuple[tuple[float, float], ...]
"""(step, value) points of one plotted series."""


@dataclass(frozen=True)
class EvalCurves:
    """What the battle's evals and validations showed so far (`ui.eval_watch.EvalWatch` keeps it)."""

    val: Points = ()
    """Validation loss by step (at the evals' and checkpoints' cadence; empty before the first)."""
    accuracy: tuple[tuple[str, Points], ...] = ()
    """(skill, accuracy by step) per skill, at its training level (re-tests of older levels left out)."""
    answers: tuple[EvalAnswers, ...] = ()
    """The latest eval's sample answers of each skill (wrong ones first), in the order skills came."""


@dataclass(frozen=True)
class BattleSnapshot:
    """The live battle at one moment (built by the battle worker from the conductor's state)."""

    hero_id: str
    campaign_id: str
    quest_id: str
    step: int
    max_steps: int
    start_step: int
    loss: float | None
    loss_ema: float | None
    val_loss: float | None
    lr: float
    grad_norm: float
    tokens_per_s: float
    eta_s: float
    strain: float | None
    zone: str | None
    """`recovery`, `productive`, `stretch` or `overload` (None before the first step)."""
    effort: float
    hint: str
    """The curriculum hint (`back_off`, `level_up`, `continue`)."""
    stats: HeroStats
    history: tuple[StepPoint, ...] = ()
    device: str = ""
    trainer_pid: int | None = None
    last_checkpoint: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    """The school's numbers of the latest step (`Step.metrics`: DPO margin, KL …); empty for Scribe."""
    evals: EvalCurves = EvalCurves()
    """Validation losses, accuracies and the hero's sample answers of the battle's evals."""
    step_part: str = ""
    """The next step's micro-batches done while a long step runs (`3/8`, from `StepProgress`);
    empty once its `Step` arrives."""

    @property
    def progress(self) -> float:
        span = self.max_steps - self.start_step
        return (self.step - self.start_step) / span if span > 0 else 0.0


@dataclass(frozen=True)
class PendingEval:
    """An `Evaluate` the parent sent the trainer (a re-test) that has no `EvalResult` yet."""

    skill: str
    level: int
    request_id: str = ""
    step: int = 0
    """The battle's step when it was asked for."""

    @property
    def label(self) -> str:
        return f"{self.skill.upper()} L{self.level}"


LOG_KINDS = ("event", "eval", "checkpoint", "level", "error", "note")


@dataclass(frozen=True)
class LogLine:
    """One line of the battle log."""

    kind: str
    """One of `LOG_KINDS`: it picks the line's colour."""
    text: str
    at: float = field(default_factory=time.time)


def format_clock(epoch: float) -> str:
    """`HH:MM:SS` in local time."""
    return time.strftime("%H:%M:%S", time.localtime(epoch))


def format_date(epoch: float) -> str:
    """`YYYY-MM-DD HH:MM` in local time."""
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(epoch))


def format_duration(seconds: float) -> str:
    """`1h02m`, `3m05s` or `42s`; `—` for unknown."""
    if seconds is None or seconds < 0 or seconds != seconds:
        return "—"
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def format_bytes(size: float) -> str:
    """Human sizes: `512 B`, `3.4 KiB`, `34.6 MiB`, `1.2 GiB`."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"  # pragma: no cover - the loop always returns


def format_loss(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"
