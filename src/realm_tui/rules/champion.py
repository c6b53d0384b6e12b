"""The champion: the best blessed checkpoint.

Only a blessed checkpoint can be champion. Among those, the one that had mastered the most skill
levels (summed over skills) at its step wins: accuracies measured at different training levels
are not comparable (97 % on BIN level 1 is less than 85 % on level 3). Then the best skill
accuracy (mean over skills at their training levels), then the lower validation loss, then the
later step.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from realm_tui.rules.temple import Verdict


class CandidateLike(Protocol):
    """Anything with these attributes can run for champion (field names follow the ledger record).

    An optional ``mastered`` attribute (int, total mastered skill levels at the candidate's step)
    ranks first; a candidate without one counts as 0."""

    @property
    def name(self) -> str: ...
    @property
    def step(self) -> int: ...
    @property
    def blessing(self) -> str | None: ...
    @property
    def accuracy(self) -> float | None: ...
    @property
    def val_loss(self) -> float | None: ...


C = TypeVar("C", bound=CandidateLike)


@dataclass(frozen=True)
class ChampionCandidate:
    """A checkpoint as the champion rule sees it."""

    name: str
    """Checkpoint name (the ledger key)."""
    step: int
    blessing: str | None
    """The Temple's verdict (``Verdict`` or its string value); ``None`` before the Temple ran."""
    accuracy: float | None
    """Mean skill accuracy at save time."""
    val_loss: float | None
    mastered: int = 0
    """Skill levels mastered at this step, summed over skills (ranks before accuracy)."""


def mastered_of(candidate: CandidateLike) -> int:
    """The candidate's total mastered levels (0 when it carries none)."""
    value = getattr(candidate, "mastered", 0)
    return int(value) if isinstance(value, int | float) and math.isfinite(value) else 0


def is_blessed(candidate: CandidateLike) -> bool:
    return candidate.blessing == Verdict.BLESSED.value


def _finite_or(value: float | None, default: float) -> float:
    return value if value is not None and math.isfinite(value) else default


def champion_key(candidate: CandidateLike) -> tuple[int, float, float, int]:
    """Sort key where larger is better: more mastered levels, then accuracy, then lower val loss,
    then later step."""
    return (
        mastered_of(candidate),
        _finite_or(candidate.accuracy, -math.inf),
        -_finite_or(candidate.val_loss, math.inf),
        candidate.step,
    )


def choose_champion(candidates: Iterable[C]) -> C | None:
    """The best blessed candidate, or ``None`` when none is blessed."""
    blessed = [c for c in candidates if is_blessed(c)]
    return max(blessed, key=champion_key) if blessed else None


def beats(challenger: CandidateLike, champion: CandidateLike | None) -> bool:
    """Whether ``challenger`` would take the crown from ``champion``.

    Only a blessed challenger can; it always takes an empty (or unblessed) throne.
    """
    if not is_blessed(challenger):
        return False
    if champion is None or not is_blessed(champion):
        return True
    return champion_key(challenger) > champion_key(champion)
