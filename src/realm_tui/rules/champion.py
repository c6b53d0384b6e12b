"""The champion: the best blessed checkpoint.

Only a blessed checkpoint can be champion. Among those, the best skill accuracy (mean over
skills) wins; ties go to the lower validation loss, then to the later step.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from realm_tui.rules.temple import Verdict


class CandidateLike(Protocol):
    """Anything with these attributes can run for champion (field names follow the ledger record)."""

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


def is_blessed(candidate: CandidateLike) -> bool:
    return candidate.blessing == Verdict.BLESSED.value


def _finite_or(value: float | None, default: float) -> float:
    return value if value is not None and math.isfinite(value) else default


def champion_key(candidate: CandidateLike) -> tuple[float, float, int]:
    """Sort key where larger is better: accuracy, then lower val loss, then later step."""
    return (
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
