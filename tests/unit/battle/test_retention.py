from __future__ import annotations

import time

from realm_tui.battle.retention import Kept, select_for_deletion

DAY = 86400.0


def test_keeps_latest_champion_and_one_per_day() -> None:
    base = time.mktime((2026, 11, 20, 12, 0, 0, 0, 0, -1))
    items = [Kept(f"c{i}", i * 100, base + i * 3600) for i in range(1, 6)]  # same day
    items += [Kept(f"d{i}", 1000 + i * 100, base + DAY + i * 3600) for i in range(1, 4)]  # next day
    items[0] = Kept("c1", 100, base + 3600, champion=True)
    doomed = select_for_deletion(items, keep_last=2, keep_daily=True)
    # kept: champion c1, latest two (d2, d3), last of day one (c5)
    assert doomed == ["c2", "c3", "c4", "d1"]


def test_never_deletes_the_only_checkpoint() -> None:
    assert select_for_deletion([Kept("a", 1, 0.0)], keep_last=0, keep_daily=False) == []


def test_without_daily_keeps_exactly_latest_n_and_champion() -> None:
    items = [Kept(f"c{i}", i, float(i)) for i in range(10)]
    doomed = select_for_deletion(items, keep_last=3, keep_daily=False)
    assert doomed == [f"c{i}" for i in range(7)]
