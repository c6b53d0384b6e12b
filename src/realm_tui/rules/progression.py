"""Skill levels: when a skill levels up, when a mastered level regresses, when the hero is maxed out.

A skill's *mastered* level is the highest level it has passed; it trains at ``mastered + 1``.
It levels up when the mean of its last ``min_evals`` evals at the training level reaches the
threshold. Evals also re-test mastered levels: a drop of more than ``tolerance`` below the
accuracy recorded at mastery is a regression, and that level gets review data.

The hero is *maxed out* (has found its level cap) when keeping old levels costs more training
than learning new ones (the maintenance multiplier passes a limit), or when each of the last few
level-ups was followed by a regression of some mastered level that did not recover before the
next level-up.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

EPSILON = 1e-9
"""Float slack on threshold comparisons: a mean of exactly 0.8 passes, a drop of exactly 0.10 does not."""


def training_level(mastered: int, max_level: int) -> int:
    """The level a skill trains at: ``mastered + 1``, capped at ``max_level``."""
    if max_level < 1:
        raise ValueError(f"max_level must be >= 1, got {max_level}")
    if mastered < 0:
        raise ValueError(f"mastered level must be >= 0, got {mastered}")
    return min(mastered + 1, max_level)


def has_joined(joins_after: Mapping[str, int], mastered: Mapping[str, int]) -> bool:
    """Whether a skill that waits for others (`joins_after`: skill id → level it must have
    mastered) takes part yet: every listed skill has mastered its level (no condition: at once)."""
    return all(mastered.get(other, 0) >= level for other, level in joins_after.items())


def is_skill_complete(mastered: int, max_level: int) -> bool:
    """True once every level of the skill is mastered."""
    return mastered >= max_level


@dataclass(frozen=True)
class LevelDecision:
    """Whether a skill levels up now, and how close it is (for the Guild screen)."""

    level_up: bool
    mean: float | None
    """Mean of the last ``min_evals`` evals at the training level (of all of them when fewer)."""
    needed: float
    """The threshold the mean must reach."""
    count: int
    """How many evals exist at the training level."""
    min_evals: int

    @property
    def evals_missing(self) -> int:
        """Evals still needed before a decision can be made."""
        return max(0, self.min_evals - self.count)

    @property
    def below_threshold(self) -> bool:
        """The evals there are average under the threshold: more evals alone do not level it up."""
        return self.mean is not None and self.mean < self.needed - EPSILON


def decide_level_up(
    evals_at_training_level: Sequence[float], threshold: float = 0.8, min_evals: int = 3
) -> LevelDecision:
    """Level up when at least ``min_evals`` evals exist and the mean of the last ones >= threshold.

    Evals are accuracies in eval order (oldest first). NaN/infinite values are ignored and the
    rest are clamped to [0, 1].
    """
    if min_evals < 1:
        raise ValueError(f"min_evals must be >= 1, got {min_evals}")
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], got {threshold!r}")
    evals = [min(1.0, max(0.0, e)) for e in evals_at_training_level if math.isfinite(e)]
    recent = evals[-min_evals:]
    mean = sum(recent) / len(recent) if recent else None
    level_up = len(evals) >= min_evals and mean is not None and mean >= threshold - EPSILON
    return LevelDecision(level_up=level_up, mean=mean, needed=threshold, count=len(evals), min_evals=min_evals)


@dataclass(frozen=True)
class Regression:
    """A mastered level whose accuracy fell more than the tolerance below its mastery accuracy."""

    skill: str
    level: int
    mastery_accuracy: float
    latest_accuracy: float

    @property
    def drop(self) -> float:
        return self.mastery_accuracy - self.latest_accuracy


def detect_regressions(
    mastery_accuracy: Mapping[int, float],
    latest_accuracy: Mapping[int, float],
    tolerance: float = 0.10,
    skill: str = "",
) -> list[Regression]:
    """Mastered levels whose latest accuracy is MORE than ``tolerance`` below the mastery accuracy.

    Levels without a latest eval, and non-finite accuracies, are skipped. Sorted by level.
    """
    if tolerance < 0.0 or not math.isfinite(tolerance):
        raise ValueError(f"tolerance must be a finite value >= 0, got {tolerance!r}")
    found: list[Regression] = []
    for level in sorted(mastery_accuracy):
        at_mastery = mastery_accuracy[level]
        latest = latest_accuracy.get(level)
        if latest is None or not (math.isfinite(at_mastery) and math.isfinite(latest)):
            continue
        if at_mastery - latest > tolerance + EPSILON:
            found.append(Regression(skill, level, at_mastery, latest))
    return found


def maintenance_multiplier(review_steps: float, new_level_steps: float) -> float:
    """Review steps ÷ new-level steps over a window (0.0 with no review, inf with only review)."""
    if review_steps < 0 or new_level_steps < 0:
        raise ValueError(f"step counts must be >= 0, got review={review_steps}, new={new_level_steps}")
    if new_level_steps == 0:
        return 0.0 if review_steps == 0 else math.inf
    return review_steps / new_level_steps


@dataclass(frozen=True)
class StepMix:
    """How much of the training at one step (or one reported span) was review vs new-level data.

    Counts may be steps or examples, as long as every ``StepMix`` uses the same unit.
    """

    step: int
    review: float
    new_level: float


def maintenance_over_window(mixes: Sequence[StepMix], window_steps: int) -> tuple[float, float, float]:
    """``(multiplier, review, new_level)`` over the mixes in the last ``window_steps`` steps.

    The window ends at the latest step among ``mixes``; an empty sequence gives ``(0, 0, 0)``.
    """
    if window_steps < 1:
        raise ValueError(f"window_steps must be >= 1, got {window_steps}")
    if not mixes:
        return 0.0, 0.0, 0.0
    last = max(m.step for m in mixes)
    inside = [m for m in mixes if m.step > last - window_steps]
    review = sum(m.review for m in inside)
    new = sum(m.new_level for m in inside)
    return maintenance_multiplier(review, new), review, new


@dataclass(frozen=True)
class LevelTransition:
    """A skill gained a level at ``step``."""

    step: int
    skill: str
    from_level: int
    to_level: int


def transition_from_record(t: Mapping[str, object]) -> LevelTransition:
    """A stored campaign transition as a `LevelTransition`. The keeper writes ``from``/``to``;
    records built from `rules.strain.transition_record` say ``from_level``/``to_level``: read both.
    Raises KeyError/TypeError/ValueError for a record that has neither."""
    start = t["from"] if "from" in t else t["from_level"]
    end = t["to"] if "to" in t else t["to_level"]
    return LevelTransition(int(t["step"]), str(t["skill"]), int(start or 0), int(end))  # type: ignore[call-overload]


@dataclass(frozen=True)
class RegressionEvent:
    """A mastered level of ``skill`` regressed at ``step``."""

    step: int
    skill: str
    level: int


@dataclass(frozen=True)
class RecoveryEvent:
    """A regressed level of ``skill`` was back within tolerance at ``step`` (maintenance worked)."""

    step: int
    skill: str
    level: int


ProgressEvent = LevelTransition | RegressionEvent | RecoveryEvent


@dataclass(frozen=True)
class MaxedOutVerdict:
    """Whether the campaign has found the hero's level cap, and why (text for the player)."""

    maxed_out: bool
    reason: str
    multiplier: float
    costly_level_ups: int
    """How many of the most recent level-ups in a row were each followed by a regression."""


def costly_level_up_streak(events: Sequence[ProgressEvent]) -> int:
    """How many of the latest level-ups in a row were each followed by a regression.

    A level-up is *costly* when a mastered level regresses after it and has not recovered by the
    next level-up (or, for the latest level-up, by now). A dip that maintenance repaired before
    the hero moved on did not cost the level: counting it made a dio-nano campaign "maxed out"
    at BIN level 2 after 20 minutes, its level-1 dip long recovered (docs/skills.md, the cap
    bench). Events are ordered by step (ties keep their given order).
    """
    ordered = sorted(events, key=lambda e: e.step)
    costly: list[bool] = []
    unrecovered: set[tuple[str, int]] = set()
    for event in ordered:
        if isinstance(event, LevelTransition):
            if costly:
                costly[-1] = bool(unrecovered)
            costly.append(False)
            unrecovered = set()
        elif isinstance(event, RegressionEvent):
            if costly:
                unrecovered.add((event.skill, event.level))
        else:
            unrecovered.discard((event.skill, event.level))
    if costly:
        costly[-1] = bool(unrecovered)
    streak = 0
    for was_costly in reversed(costly):
        if not was_costly:
            break
        streak += 1
    return streak


def check_maxed_out(
    events: Sequence[ProgressEvent],
    review_steps: float,
    new_level_steps: float,
    limit: float = 1.0,
    costly_limit: int = 2,
    min_window_steps: float = 1000,
) -> MaxedOutVerdict:
    """Judge the level cap from level-up/regression events and the window's review/new mix.

    Maxed out when the maintenance multiplier exceeds ``limit`` (judged only once the window
    holds at least ``min_window_steps`` review + new steps, so an early review burst cannot end
    a campaign), or when the last ``costly_limit`` level-ups were each followed by a regression.
    """
    if costly_limit < 1:
        raise ValueError(f"costly_limit must be >= 1, got {costly_limit}")
    multiplier = maintenance_multiplier(review_steps, new_level_steps)
    streak = costly_level_up_streak(events)
    enough_window = review_steps + new_level_steps >= min_window_steps
    if enough_window and multiplier > limit:
        reason = (
            f"Maintenance multiplier {multiplier:.2f} passed the limit {limit:.2f}: keeping old "
            f"levels now costs more training than learning new ones."
        )
        return MaxedOutVerdict(True, reason, multiplier, streak)
    if streak >= costly_limit:
        reason = (
            f"The last {streak} level-ups each cost a mastered level: every new level "
            f"comes with a regression elsewhere."
        )
        return MaxedOutVerdict(True, reason, multiplier, streak)
    reason = f"Still growing: maintenance multiplier {multiplier:.2f} (limit {limit:.2f})"
    if streak:
        reason += f", {streak} costly level-up(s) in a row (limit {costly_limit})"
    return MaxedOutVerdict(False, reason + ".", multiplier, streak)
