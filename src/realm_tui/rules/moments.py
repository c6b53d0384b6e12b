"""Moments: the few notifications that deserve a banner, a bell and a highlighted headless line.

A hero level-up, a skill level mastered, a new champion and a maxed-out verdict. The battle's
real notifications drive them (`battle.progression`, `battle.conductor`); this module only says
which ones are moments and how their line reads.
"""

from __future__ import annotations

from dataclasses import dataclass

from realm_tui.rules.notifications import Notification, NotificationKind

MOMENT_KINDS: frozenset[NotificationKind] = frozenset(
    {
        NotificationKind.LEVEL_UP,
        NotificationKind.SKILL_LEVEL_UP,
        NotificationKind.NEW_CHAMPION,
        NotificationKind.MAXED_OUT,
    }
)


@dataclass(frozen=True)
class Moment:
    kind: NotificationKind
    headline: str
    """`LEVEL UP: BIN L2`, `NEW CHAMPION: checkpoint-40-…`."""
    detail: str
    """The notification's body, a sentence under the headline."""

    @property
    def plain_line(self) -> str:
        """The line a pipe or a log file gets: marked so it stands out and can be grepped."""
        return f"*** {self.headline} ***"


def moment_of(note: Notification) -> Moment | None:
    """The moment a notification is, or None for an ordinary notice."""
    if note.kind not in MOMENT_KINDS:
        return None
    headline = note.headline or note.title.upper()  # a follower's copy may have lost the headline
    return Moment(note.kind, headline, note.body)
