"""The Temple: rituals check a checkpoint, the Blessing turns effort into experience.

After each checkpoint the rituals run (weights finite, reloads, eval ran, data valid — all
critical). The blessing's quality is ``0.6·mean accuracy + 0.2·skill coverage + 0.2·(trend+1)/2``;
any failed (or missing) critical ritual curses the checkpoint (quality 0). Quality ≥ 0.8 is
*blessed*, ≥ 0.4 *partial*, anything lower *cursed*. Experience = effort × quality, and a cursed
checkpoint earns none.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

WEIGHTS_FINITE = "weights_finite"
"""Every saved tensor is finite (no NaN/inf)."""
RELOADS = "reloads"
"""The checkpoint loads back and produces output."""
EVAL_RAN = "eval_ran"
"""The held-out evals ran against the checkpoint."""
DATA_VALID = "data_valid"
"""The training data behind the checkpoint passed validation."""

CRITICAL_RITUALS: frozenset[str] = frozenset({WEIGHTS_FINITE, RELOADS, EVAL_RAN, DATA_VALID})
RITUALS: tuple[str, ...] = (WEIGHTS_FINITE, RELOADS, EVAL_RAN, DATA_VALID)
"""The rituals in the order the Temple performs them."""

BLESSED_AT = 0.8
PARTIAL_AT = 0.4

ACCURACY_WEIGHT = 0.6
COVERAGE_WEIGHT = 0.2
TREND_WEIGHT = 0.2


class Verdict(StrEnum):
    BLESSED = "blessed"
    PARTIAL = "partial"
    CURSED = "cursed"


@dataclass(frozen=True)
class RitualResult:
    """One ritual's outcome. ``critical`` defaults to whether the name is in ``CRITICAL_RITUALS``."""

    name: str
    passed: bool
    detail: str = ""
    critical: bool | None = None

    @property
    def is_critical(self) -> bool:
        return self.name in CRITICAL_RITUALS if self.critical is None else self.critical


@dataclass(frozen=True)
class Blessing:
    """The Temple's judgement of one checkpoint."""

    verdict: Verdict
    quality: float
    """In [0, 1]; 0 when a critical ritual failed."""
    effort: float
    experience: float
    """``effort × quality``; 0 when cursed."""
    reason: str
    failed_rituals: tuple[str, ...] = ()
    """Critical rituals that failed or never ran."""

    @property
    def blessed(self) -> bool:
        return self.verdict is Verdict.BLESSED


def _clamp(value: float, low: float, high: float) -> float:
    return min(high, max(low, value))


def verdict_for(quality: float) -> Verdict:
    """≥ 0.8 blessed, ≥ 0.4 partial, else cursed (NaN is cursed)."""
    if quality >= BLESSED_AT:
        return Verdict.BLESSED
    if quality >= PARTIAL_AT:
        return Verdict.PARTIAL
    return Verdict.CURSED


def accuracy_trend(before: float | None, after: float | None, full_scale: float = 0.2) -> float:
    """Accuracy change mapped to [-1, 1]: a change of ``full_scale`` or more is ±1; unknown is 0."""
    if full_scale <= 0:
        raise ValueError(f"full_scale must be > 0, got {full_scale!r}")
    if before is None or after is None or not (math.isfinite(before) and math.isfinite(after)):
        return 0.0
    return _clamp((after - before) / full_scale, -1.0, 1.0)


def blessing_quality(accuracy_by_skill: Mapping[str, float | None], trend: float) -> float:
    """``0.6·mean accuracy + 0.2·coverage + 0.2·(trend+1)/2`` in [0, 1].

    ``accuracy_by_skill`` names every skill the hero trains; ``None`` marks a skill without an
    eval (it lowers coverage and is left out of the mean). ``trend`` is clamped to [-1, 1]; NaN
    counts as 0.
    """
    scores = [_clamp(a, 0.0, 1.0) for a in accuracy_by_skill.values() if a is not None and math.isfinite(a)]
    mean = sum(scores) / len(scores) if scores else 0.0
    coverage = len(scores) / len(accuracy_by_skill) if accuracy_by_skill else 0.0
    trend = 0.0 if math.isnan(trend) else _clamp(trend, -1.0, 1.0)
    quality = ACCURACY_WEIGHT * mean + COVERAGE_WEIGHT * coverage + TREND_WEIGHT * (trend + 1.0) / 2.0
    return round(_clamp(quality, 0.0, 1.0), 9)


def failed_critical(rituals: Iterable[RitualResult]) -> tuple[str, ...]:
    """Critical rituals that failed, plus those in ``CRITICAL_RITUALS`` that never ran, in a stable order."""
    results = list(rituals)
    failed = {r.name for r in results if r.is_critical and not r.passed}
    missing = CRITICAL_RITUALS - {r.name for r in results}
    bad = failed | missing
    known = [name for name in RITUALS if name in bad]
    return (*known, *sorted(bad - set(RITUALS)))


def bless(
    rituals: Iterable[RitualResult],
    accuracy_by_skill: Mapping[str, float | None],
    trend: float,
    effort: float,
) -> Blessing:
    """Judge a checkpoint: the rituals, the eval accuracies, the accuracy trend and the effort spent."""
    if not math.isfinite(effort) or effort < 0:
        raise ValueError(f"effort must be a finite value >= 0, got {effort!r}")
    failed = failed_critical(rituals)
    if failed:
        reason = "Cursed: critical ritual(s) failed or did not run: " + ", ".join(failed)
        return Blessing(Verdict.CURSED, 0.0, effort, 0.0, reason, failed)
    quality = blessing_quality(accuracy_by_skill, trend)
    verdict = verdict_for(quality)
    experience = 0.0 if verdict is Verdict.CURSED else effort * quality
    reason = {
        Verdict.BLESSED: f"Blessed: quality {quality:.2f} ≥ {BLESSED_AT:.2f}, full experience",
        Verdict.PARTIAL: f"Partial blessing: quality {quality:.2f}, reduced experience",
        Verdict.CURSED: f"Cursed: quality {quality:.2f} < {PARTIAL_AT:.2f}, no experience",
    }[verdict]
    return Blessing(verdict, quality, effort, experience, reason)
