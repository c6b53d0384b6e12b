"""Notifications: rule outcomes turned into plain values the UI (toasts) or headless log show."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from realm_tui.rules.achievements import Achievement
from realm_tui.rules.progression import MaxedOutVerdict, Regression


class NotificationKind(StrEnum):
    LEVEL_UP = "level_up"
    SKILL_LEVEL_UP = "skill_level_up"
    NEW_CHAMPION = "new_champion"
    QUEST_COMPLETE = "quest_complete"
    REGRESSION = "regression"
    MAXED_OUT = "maxed_out"
    TRAINER_DIED = "trainer_died"
    BATTLE_REFUSED = "battle_refused"
    ACHIEVEMENT = "achievement"
    PLATEAU = "plateau"


class Severity(StrEnum):
    INFO = "info"
    SUCCESS = "success"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True)
class Notification:
    kind: NotificationKind
    title: str
    body: str
    severity: Severity
    headline: str = ""
    """A short capitalised line for a moment (`LEVEL UP: BIN L2`); empty for plain notices."""


def level_up(old_level: int, new_level: int) -> Notification | None:
    """The hero's level rose (``None`` when it did not)."""
    if new_level <= old_level:
        return None
    gained = new_level - old_level
    body = f"The hero reached level {new_level}." + (f" ({gained} levels at once!)" if gained > 1 else "")
    return Notification(
        NotificationKind.LEVEL_UP, "Level up!", body, Severity.SUCCESS, headline=f"LEVEL UP: hero level {new_level}"
    )


def skill_level_up(skill: str, level: int) -> Notification:
    return Notification(
        NotificationKind.SKILL_LEVEL_UP,
        f"{skill.upper()} level {level}",
        f"{skill.upper()} level {level} mastered; training moves on to level {level + 1}.",
        Severity.SUCCESS,
        headline=f"LEVEL UP: {skill.upper()} L{level}",
    )


def new_champion(checkpoint: str, step: int, accuracy: float | None) -> Notification:
    acc = f" with accuracy {accuracy:.0%}" if accuracy is not None else ""
    return Notification(
        NotificationKind.NEW_CHAMPION,
        "New champion!",
        f"{checkpoint} (step {step}) is the new champion{acc}.",
        Severity.SUCCESS,
        headline=f"NEW CHAMPION: {checkpoint}",
    )


def quest_complete(quest: str, gold: int = 0) -> Notification:
    reward = f" +{gold} gold." if gold else ""
    return Notification(NotificationKind.QUEST_COMPLETE, "Quest complete", f"{quest} is done.{reward}", Severity.INFO)


def regression(found: Regression) -> Notification:
    skill = found.skill.upper() or "A skill"
    return Notification(
        NotificationKind.REGRESSION,
        f"{skill} level {found.level} is slipping",
        f"Accuracy fell from {found.mastery_accuracy:.0%} at mastery to {found.latest_accuracy:.0%}; "
        "review data will be added.",
        Severity.WARNING,
    )


def maxed_out(verdict: MaxedOutVerdict) -> Notification | None:
    """The level cap was found (``None`` when the verdict is not maxed out)."""
    if not verdict.maxed_out:
        return None
    return Notification(
        NotificationKind.MAXED_OUT,
        "Level cap reached",
        f"{verdict.reason} Archive the campaign or start New Game+.",
        Severity.WARNING,
        headline="MAXED OUT: the level cap is reached",
    )


def trainer_died(reason: str, exit_code: int | None = None) -> Notification:
    code = f" (exit code {exit_code})" if exit_code is not None else ""
    return Notification(
        NotificationKind.TRAINER_DIED,
        "Trainer stopped unexpectedly",
        f"{reason}{code}.",
        Severity.ERROR,
    )


def battle_refused(reason: str) -> Notification:
    """The battle could not start (no quest, a bad config, impossible knobs …): nothing ran, nothing died."""
    return Notification(
        NotificationKind.BATTLE_REFUSED,
        "The battle cannot start",
        reason.strip() or "no reason given",
        Severity.WARNING,
    )


def achievement_unlocked(achievement: Achievement) -> Notification:
    return Notification(
        NotificationKind.ACHIEVEMENT,
        f"Achievement: {achievement.name}",
        achievement.description,
        Severity.SUCCESS,
    )
