"""Generator versions: which eval records were graded on today's problems.

A skill's data version goes up whenever its generator changes what a (level, seed) produces or
what counts as the right answer. Eval records carry the version they were made with (records
written before versions were stored read as version 1), so a level's history from an older
generator is shown as such and never averaged with today's evals for a level-up. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

DATA_VERSIONS: dict[str, int] = {"bin": 2, "sy": 2}
"""Current generator version per skill.

2: BIN `tobin` states its width in the prompt (the answer no longer depends on the level); SY
puzzles have exactly one answer under a search of every word sharing a clue text, every tile
split and clue order; no training stream shows an eval prompt of another level."""

FIRST_VERSION = 1
"""The version of every eval record stored before versions were recorded."""


class _Eval(Protocol):
    skill: str
    level: int
    data_version: int


def data_version(skill: str) -> int:
    """The current generator version of `skill` (FIRST_VERSION for a skill never bumped)."""
    return DATA_VERSIONS.get(skill, FIRST_VERSION)


def is_current(record: _Eval) -> bool:
    """Whether an eval record was graded by the skill's current generator."""
    return record.data_version == data_version(record.skill)


def old_version_levels(evals: Iterable[_Eval], skill: str) -> tuple[int, ...]:
    """Levels of `skill` with at least one eval from an older generator version, sorted."""
    return tuple(sorted({e.level for e in evals if e.skill == skill and not is_current(e)}))


def old_version_note(levels: Iterable[int], skill: str) -> str:
    """One line for the player ("" when nothing is old)."""
    found = sorted(set(levels))
    if not found:
        return ""
    shown = ", ".join(f"L{lv}" for lv in found[:8]) + (" …" if len(found) > 8 else "")
    return (
        f"history of {shown} comes from an older {skill.upper()} generator (before v{data_version(skill)}): "
        "shown, not counted for level-ups"
    )
