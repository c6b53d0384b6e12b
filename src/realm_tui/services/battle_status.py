"""Is a battle running in another process? Who runs it, since when, at which step.

Asked by `realm doctor` and the Tavern of a game that opened the store read-only. The answer
comes from the store's writer lock (who holds it, since when: :mod:`realm_tui.store.holder`) and
from a snapshot of the store (the campaign's step, which the battle records at every checkpoint
and at least every 30 s). Nothing is locked and nothing is written, except :func:`clear_stale`,
which removes the note a killed writer left behind.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from realm_tui.errors import StoreError
from realm_tui.paths import RealmPaths
from realm_tui.store.holder import LockHolder, clear_stale_lock, duration, lock_holder
from realm_tui.store.snapshot import open_snapshot


@dataclass(frozen=True)
class BattleElsewhere:
    """The process holding the realm's store, and how far the battle it records has got."""

    holder: LockHolder
    campaign_id: str | None = None
    step: int | None = None
    """The latest step the store has recorded (the battle may be a few steps further)."""
    step_at: float | None = None
    """When that step was recorded."""

    @property
    def is_battle(self) -> bool:
        return self.holder.is_battle

    def line(self, now: float | None = None) -> str:
        """One sentence for a status line or the doctor's table."""
        now = time.time() if now is None else now
        if self.holder.is_battle:
            head = f"A battle is running: {self.holder.describe(now)}"
        elif self.holder.is_game:
            head = f"The game holds the store (a battle may run in it): {self.holder.describe(now)}"
        else:
            head = f"Another realm process writes the store: {self.holder.describe(now)}"
        if self.step is None:
            return head
        when = f" (recorded {duration(now - self.step_at)} ago)" if self.step_at is not None else ""
        return f"{head}; campaign {self.campaign_id} at step {self.step}{when}"


def battle_elsewhere(realm: RealmPaths) -> BattleElsewhere | None:
    """The process holding the store's writer lock now and its campaign's step; None when free."""
    holder = lock_holder(realm.store_file)
    if holder is None:
        return None
    try:
        with open_snapshot(realm) as store:
            campaigns = store.campaigns.all()
            active = [c for c in campaigns if c.status == "active"]
            campaign = max(active or campaigns, key=lambda c: c.updated_at) if campaigns else None
            latest = store.ledger.latest(campaign.id) if campaign is not None else None
    except StoreError:
        return BattleElsewhere(holder)  # who holds it is still worth saying
    if campaign is None:
        return BattleElsewhere(holder)
    step, at = campaign.current_step, campaign.updated_at
    if latest is not None and latest.step > step:
        step, at = latest.step, latest.created_at
    return BattleElsewhere(holder, campaign.id, step, at)


def clear_stale(realm: RealmPaths) -> str | None:
    """Clear the lock note of a writer that died holding the store; the message, or None."""
    return clear_stale_lock(realm.store_file)
