"""Hero stats: XP, level, ATK, DEF, ACC and gold from what the campaign has recorded.

XP is the number of optimizer steps trained in the campaign; the hero gains a level every
``steps_per_level`` steps. ATK and DEF turn a loss into a number that grows as the loss falls
(``round(100 / loss)``); ACC is the mean of the latest eval accuracies, one per skill, taken at
each skill's training level. Nothing here raises on a strange loss: ``None``, NaN, infinities
and non-positive values all give a stat of 0 or the cap.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from realm_tui.rules.rewards import GOLD_PER_QUEST, GOLD_PER_SKILL_LEVEL, gold, hero_level

STAT_SCALE = 100.0
"""ATK and DEF are ``round(STAT_SCALE / loss)``."""

MIN_LOSS = 1e-3
"""Losses below this count as this, so a near-zero loss caps ATK/DEF at ``STAT_CAP``."""

STAT_CAP = round(STAT_SCALE / MIN_LOSS)
"""The highest ATK or DEF a hero can show (a loss of ``MIN_LOSS`` or less)."""


@dataclass(frozen=True)
class HeroStats:
    """The hero sheet's numbers at one moment."""

    xp: int
    """Optimizer steps trained in the campaign."""
    level: int
    """``rules.rewards.hero_level``: ``xp // steps_per_level``."""
    xp_into_level: int
    """XP gained since the current level began."""
    xp_for_next: int
    """XP still needed to reach the next level."""
    atk: int
    """``round(100 / train-loss EMA)``; 0 before the first loss."""
    defense: int
    """``round(100 / val loss)``; 0 before the first validation."""
    acc: float
    """Mean latest eval accuracy over skills at their training level; 0.0 before any eval."""
    gold: int
    """Quest rewards plus skill-level rewards (`rules.rewards.gold`)."""

    @property
    def level_progress(self) -> float:
        """Fraction of the way to the next level, in [0, 1)."""
        total = self.xp_into_level + self.xp_for_next
        return self.xp_into_level / total if total > 0 else 0.0


def ema(prev: float | None, value: float, alpha: float) -> float | None:
    """Exponential moving average: ``alpha * value + (1 - alpha) * prev``.

    The first finite value starts the average. A non-finite ``value`` is skipped (the previous
    average is returned) so one NaN loss never poisons ATK for the rest of the campaign.
    """
    if not 0.0 < alpha <= 1.0:
        raise ValueError(f"EMA alpha must be in (0, 1], got {alpha!r}")
    if not math.isfinite(value):
        return prev
    if prev is None or not math.isfinite(prev):
        return float(value)
    return alpha * value + (1.0 - alpha) * prev


def stat_from_loss(loss: float | None) -> int:
    """``round(100 / loss)``, guarded: missing, NaN, infinite or negative losses give 0.

    A loss of zero or one below ``MIN_LOSS`` gives ``STAT_CAP``.
    """
    if loss is None or not math.isfinite(loss) or loss < 0.0:
        return 0
    return round(STAT_SCALE / max(loss, MIN_LOSS))


def mean_accuracy(accuracy_by_skill: Mapping[str, float | None]) -> float:
    """Mean of the finite accuracies (each clamped to [0, 1]); 0.0 when there are none.

    Skills without an eval at their training level yet (``None``) are left out.
    """
    values = [min(1.0, max(0.0, acc)) for acc in accuracy_by_skill.values() if acc is not None and math.isfinite(acc)]
    return sum(values) / len(values) if values else 0.0


def _require_non_negative(name: str, value: int) -> None:
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")


def compute_stats(
    steps: int,
    train_loss_ema: float | None,
    val_loss: float | None,
    latest_accuracy_by_skill: Mapping[str, float | None],
    quests_completed: int,
    skill_levels_gained: int,
    steps_per_level: int = 1000,
    gold_per_quest: int = GOLD_PER_QUEST,
    gold_per_skill_level: int = GOLD_PER_SKILL_LEVEL,
) -> HeroStats:
    """Build the hero sheet from campaign totals; level and gold by `rules.rewards`.

    ``skill_levels_gained`` counts the levels gained in this campaign (`rewards.levels_gained` of
    its transitions), never the levels it started with. Raises ValueError only for impossible
    counts (negative steps or quests, a non-positive ``steps_per_level``); losses and accuracies of
    any value are accepted.
    """
    _require_non_negative("steps", steps)
    level = hero_level(steps, steps_per_level)
    into = steps - level * steps_per_level
    paid = gold(quests_completed, skill_levels_gained, per_quest=gold_per_quest, per_skill_level=gold_per_skill_level)
    return HeroStats(
        xp=steps,
        level=level,
        xp_into_level=into,
        xp_for_next=steps_per_level - into,
        atk=stat_from_loss(train_loss_ema),
        defense=stat_from_loss(val_loss),
        acc=mean_accuracy(latest_accuracy_by_skill),
        gold=paid,
    )
