"""Strain and effort: training seen through materials science.

*Strain* is how far the loss sits above a floor (the comfort loss for the current level):
``max(0, loss - floor)``. *Effort* is the sum of strain over steps (area under the strain
curve). The strain falls into a zone, like heart-rate zones, and the zone plus the trend of the
strain give the curriculum a hint: back off, level up, or continue. When a skill levels up, the
effort spent and the loss gained since the level began give its learning efficiency.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

RECOVERY_BELOW = 0.1
PRODUCTIVE_BELOW = 0.3
STRETCH_BELOW = 0.5

TREND_RATE = 0.005
"""A smoothed strain rate below ``-TREND_RATE`` is improving, above ``+TREND_RATE`` worsening."""

HINT_MIN_SAMPLES = 10
"""Strain samples needed before ``hint_for`` gives anything but *continue*."""


class StrainZone(StrEnum):
    RECOVERY = "recovery"
    """strain < 0.1: under-challenged."""
    PRODUCTIVE = "productive"
    """0.1 <= strain < 0.3: the sweet spot."""
    STRETCH = "stretch"
    """0.3 <= strain < 0.5: challenging."""
    OVERLOAD = "overload"
    """strain >= 0.5: too hard."""


class CurriculumAction(StrEnum):
    BACK_OFF = "back_off"
    LEVEL_UP = "level_up"
    CONTINUE = "continue"


class StrainTrend(StrEnum):
    IMPROVING = "improving"
    STABLE = "stable"
    WORSENING = "worsening"


def strain_of(loss: float, floor: float) -> float:
    """``max(0, loss - floor)``; NaN gives NaN, which the fold skips and ``zone_for`` calls overload."""
    diff = loss - floor
    return math.nan if math.isnan(diff) else max(0.0, diff)


def zone_for(strain: float) -> StrainZone:
    """The zone of a strain value; non-finite strain counts as overload."""
    if math.isnan(strain):
        return StrainZone.OVERLOAD
    if strain < RECOVERY_BELOW:
        return StrainZone.RECOVERY
    if strain < PRODUCTIVE_BELOW:
        return StrainZone.PRODUCTIVE
    if strain < STRETCH_BELOW:
        return StrainZone.STRETCH
    return StrainZone.OVERLOAD


def curriculum_hint(zone: StrainZone, improving: bool, stable: bool) -> CurriculumAction:
    """Overload and not improving → back off; recovery and stable → level up; else continue."""
    if zone is StrainZone.OVERLOAD and not improving:
        return CurriculumAction.BACK_OFF
    if zone is StrainZone.RECOVERY and stable:
        return CurriculumAction.LEVEL_UP
    return CurriculumAction.CONTINUE


@dataclass(frozen=True)
class StrainState:
    """The result of folding losses with ``update_strain``. Start from ``StrainState()``."""

    steps: int = 0
    """Finite losses folded in."""
    effort: float = 0.0
    """Σ strain."""
    strain: float | None = None
    """Latest strain."""
    loss: float | None = None
    """Latest finite loss."""
    best_loss: float | None = None
    rate_ema: float | None = None
    """Smoothed step-to-step change of strain (negative = learning)."""
    recent: tuple[float, ...] = ()
    """The last few strains (at most ``window``), oldest first."""
    productive_streak: int = 0
    """Consecutive latest steps in the productive zone."""
    skipped: int = 0
    """Non-finite losses that were ignored."""

    @property
    def zone(self) -> StrainZone | None:
        """Zone of the latest strain (``None`` before the first)."""
        return None if self.strain is None else zone_for(self.strain)

    @property
    def mean_recent(self) -> float | None:
        return sum(self.recent) / len(self.recent) if self.recent else None

    @property
    def effort_per_step(self) -> float:
        return self.effort / self.steps if self.steps else 0.0


def update_strain(
    state: StrainState, loss: float, floor: float, *, alpha: float = 0.1, window: int = 50
) -> StrainState:
    """Fold one loss into the state. Non-finite losses are counted in ``skipped`` and otherwise ignored."""
    if not 0.0 < alpha <= 1.0:
        raise ValueError(f"alpha must be in (0, 1], got {alpha!r}")
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    if not math.isfinite(floor):
        raise ValueError(f"strain floor must be finite, got {floor!r}")
    if not math.isfinite(loss):
        return replace(state, skipped=state.skipped + 1)
    strain = strain_of(loss, floor)
    rate = state.rate_ema
    if state.strain is not None:
        raw = strain - state.strain
        rate = raw if rate is None else alpha * raw + (1.0 - alpha) * rate
    productive = zone_for(strain) is StrainZone.PRODUCTIVE
    return replace(
        state,
        steps=state.steps + 1,
        effort=state.effort + strain,
        strain=strain,
        loss=loss,
        best_loss=loss if state.best_loss is None else min(state.best_loss, loss),
        rate_ema=rate,
        recent=(*state.recent, strain)[-window:],
        productive_streak=state.productive_streak + 1 if productive else 0,
    )


def strain_trend(state: StrainState) -> StrainTrend:
    """Improving when the smoothed strain rate falls faster than ``TREND_RATE``, worsening when it rises."""
    if state.rate_ema is None or abs(state.rate_ema) <= TREND_RATE:
        return StrainTrend.STABLE
    return StrainTrend.IMPROVING if state.rate_ema < 0 else StrainTrend.WORSENING


def hint_for(state: StrainState, min_samples: int = HINT_MIN_SAMPLES) -> CurriculumAction:
    """The curriculum hint from the zone of the mean recent strain and the trend.

    With fewer than ``min_samples`` strains there is not enough to judge: continue.
    """
    mean = state.mean_recent
    if mean is None or len(state.recent) < min_samples:
        return CurriculumAction.CONTINUE
    trend = strain_trend(state)
    return curriculum_hint(zone_for(mean), improving=trend is StrainTrend.IMPROVING, stable=trend is StrainTrend.STABLE)


def comfort_floor(mastery_losses: Iterable[float | None]) -> float:
    """The comfort loss of the level now trained: the loss (EMA) at which the latest level was
    mastered, from the campaign's level-ups oldest first. Before any mastery there is no comfort
    to measure against and the floor is 0 (a perfect fit), so a new hero's strain is its loss.

    Never the recent minimum: a falling loss always equals its own minimum, which made every
    strain 0 and every zone recovery (DESIGN §6)."""
    floor = 0.0
    for loss in mastery_losses:
        if loss is not None and math.isfinite(loss) and loss >= 0.0:
            floor = loss
    return floor


def skills_ready(accuracy: Mapping[str, float | None], thresholds: Mapping[str, float]) -> bool:
    """Whether every trained skill's latest accuracy at its training level reached its threshold
    (False with no skill to judge: there is no level to go up to)."""
    if not thresholds:
        return False
    for skill, threshold in thresholds.items():
        value = accuracy.get(skill)
        if value is None or not math.isfinite(value) or value < threshold:
            return False
    return True


def gated_hint(state: StrainState, ready: bool, min_samples: int = HINT_MIN_SAMPLES) -> CurriculumAction:
    """``hint_for``, except that *level up* needs the skills' accuracy (`skills_ready`): an easy
    loss alone never says the hero can move on while its answers are still wrong."""
    hint = hint_for(state, min_samples)
    if hint is CurriculumAction.LEVEL_UP and not ready:
        return CurriculumAction.CONTINUE
    return hint


@dataclass(frozen=True)
class LevelMark:
    """Where a skill level began: the step, the effort total then, and the loss then."""

    step: int
    effort: float
    loss: float | None


@dataclass(frozen=True)
class LevelTransitionRecord:
    """Effort and gain for one level-up. Build it with ``transition_record``."""

    skill: str
    from_level: int
    to_level: int
    start_step: int
    end_step: int
    effort_spent: float
    start_loss: float | None
    end_loss: float | None
    plastic_gain: float
    """Loss at level start − loss at level end (0.0 when either is unknown)."""
    efficiency: float
    """``plastic_gain / effort_spent`` (0.0 when no effort was spent)."""

    @property
    def steps_taken(self) -> int:
        return self.end_step - self.start_step


def efficiency(plastic_gain: float, effort: float) -> float:
    """Learning return on effort; 0.0 when the effort is zero, negative or not finite."""
    if not math.isfinite(effort) or effort <= 0.0 or not math.isfinite(plastic_gain):
        return 0.0
    return plastic_gain / effort


def transition_record(
    skill: str,
    from_level: int,
    to_level: int,
    start: LevelMark,
    end_step: int,
    end_effort: float,
    end_loss: float | None,
) -> LevelTransitionRecord:
    """The record of a level change, measured from the ``start`` mark to now."""
    if end_step < start.step:
        raise ValueError(f"level ends at step {end_step}, before it began at step {start.step}")
    effort_spent = max(0.0, end_effort - start.effort)
    start_loss = start.loss if start.loss is not None and math.isfinite(start.loss) else None
    end_loss = end_loss if end_loss is not None and math.isfinite(end_loss) else None
    gain = start_loss - end_loss if start_loss is not None and end_loss is not None else 0.0
    return LevelTransitionRecord(
        skill=skill,
        from_level=from_level,
        to_level=to_level,
        start_step=start.step,
        end_step=end_step,
        effort_spent=effort_spent,
        start_loss=start_loss,
        end_loss=end_loss,
        plastic_gain=gain,
        efficiency=efficiency(gain, effort_spent),
    )


def split_effort(strain: float, mix: Mapping[str, int], skills: Collection[str]) -> dict[str, float]:
    """The effort one step adds to each skill: its strain shared out by the skill's share of the
    step's examples (`mix`: examples per source, skill ids and others such as the quest). Sources
    that are not skills take their share with them; non-finite or negative strain adds nothing."""
    total = sum(n for n in mix.values() if n > 0)
    if total <= 0 or not math.isfinite(strain) or strain <= 0.0:
        return {}
    return {source: strain * n / total for source, n in mix.items() if source in skills and n > 0}
