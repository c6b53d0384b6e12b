"""Which checkpoints to keep: the champion, the latest N, and one per day. Pure selection."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Kept:
    name: str
    step: int
    created_at: float
    champion: bool = False


def select_for_deletion(checkpoints: Iterable[Kept], *, keep_last: int, keep_daily: bool) -> list[str]:
    """Names to delete, oldest first. The champion and the newest checkpoint are always kept."""
    items = sorted(checkpoints, key=lambda c: (c.step, c.created_at))
    if not items:
        return []
    keep = {c.name for c in items if c.champion}
    keep.update(c.name for c in items[-max(1, keep_last) :])
    if keep_daily:
        latest_per_day: dict[str, str] = {}
        for c in items:  # ascending, so the last one of each day wins
            latest_per_day[time.strftime("%Y-%m-%d", time.localtime(c.created_at))] = c.name
        keep.update(latest_per_day.values())
    return [c.name for c in items if c.name not in keep]
