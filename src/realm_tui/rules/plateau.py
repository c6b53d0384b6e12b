"""When a battle stops on a plateau (`realm train --stop-when plateau`): pure rules, no I/O.

A battle fought with the `plateau` stop rule ends early once training no longer moves the hero:
the accuracy at the training level of every skill being trained has not improved over the last
`patience` evals at that level. "Improved" means beating the best accuracy seen at that level in
this battle before those evals (strictly: an equal score is no progress). A level-up starts the
skill afresh (its new training level has no history), and a skill with fewer than `patience + 1`
evals at its level is still growing: the first eval is the baseline the next ones must beat.

The champion rule (blessed, then mastered levels: `rules.champion`) is unchanged; the plateau
only decides when to stop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from realm_tui.rules.notifications import Notification, NotificationKind, Severity

DEFAULT_PLATEAU_EVALS = 5
"""Evals at the training level without improvement that end a `plateau` battle."""


class StopWhen(StrEnum):
    """How a battle decides to end: `steps` (its max steps, or its quest ran out), or `plateau`
    (the same, or earlier once no trained skill improves any more)."""

    STEPS = "steps"
    PLATEAU = "plateau"


@dataclass(frozen=True)
class LevelEval:
    """One eval of a trained skill at its training level (in the order they ran)."""

    level: int
    accuracy: float


@dataclass(frozen=True)
class SkillPlateau:
    """One skill's standing: `stale` evals at `level` since its best (`best`, None: no eval yet)."""

    skill: str
    level: int
    evals: int
    best: float | None
    stale: int
    plateaued: bool


@dataclass(frozen=True)
class PlateauVerdict:
    plateaued: bool
    reason: str
    skills: tuple[SkillPlateau, ...]


def skill_plateau(skill: str, history: Sequence[LevelEval], patience: int) -> SkillPlateau:
    """`skill`'s evals at its latest training level: how many of the last ones did not beat the
    best before them; plateaued once that count reaches `patience`."""
    if patience < 1:
        raise ValueError(f"patience must be >= 1, got {patience}")
    if not history:
        return SkillPlateau(skill, 0, 0, None, 0, False)
    level = history[-1].level
    run: list[float] = []
    for point in reversed(history):  # the evals since the skill reached this level
        if point.level != level:
            break
        run.append(point.accuracy)
    run.reverse()
    best, stale = run[0], 0
    for accuracy in run[1:]:
        if accuracy > best:
            best, stale = accuracy, 0
        else:
            stale += 1
    return SkillPlateau(skill, level, len(run), best, stale, stale >= patience)


def check_plateau(histories: Mapping[str, Sequence[LevelEval]], patience: int) -> PlateauVerdict:
    """The battle's plateau verdict over the skills being trained (`histories`: skill → its
    training-level evals in this battle). Plateaued only when every one of them has plateaued:
    while any skill still improves, training goes on."""
    skills = tuple(skill_plateau(s, h, patience) for s, h in sorted(histories.items()))
    if not skills:
        return PlateauVerdict(False, "no skill is trained: no plateau to watch", ())
    if all(s.plateaued for s in skills):
        parts = ", ".join(f"{s.skill.upper()} L{s.level} best {s.best:.0%}" for s in skills if s.best is not None)
        reason = f"plateau: no training-level accuracy improved over the last {patience} evals ({parts})"
        return PlateauVerdict(True, reason, skills)
    growing = ", ".join(f"{s.skill.upper()} L{s.level} {s.stale}/{patience}" for s in skills)
    return PlateauVerdict(False, f"still improving (evals without improvement: {growing})", skills)


def plateau_notification(verdict: PlateauVerdict) -> Notification:
    """The toast and headless line of a battle that stops on its plateau."""
    return Notification(
        NotificationKind.PLATEAU,
        "Plateau: the battle stops",
        f"{verdict.reason[0].upper()}{verdict.reason[1:]}. A checkpoint is saved; "
        "the champion stays the best blessed one.",
        Severity.INFO,
    )
