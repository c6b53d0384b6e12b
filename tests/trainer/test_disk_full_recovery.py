"""Issue 13, defect 7: a battle paused by a full disk resumes by itself when space returns (headless
has no resume key), and a Stop while paused still saves when space allows.

The full disk is faked where the loop reads free space (`shutil.disk_usage` in trainer.loop): the
machine's disk cannot be filled safely while others use it. The tiny hero trains for real."""

from __future__ import annotations

import shutil
from collections import namedtuple
from pathlib import Path

import pytest

from realm_tui.contract.manifest import is_valid_checkpoint
from realm_tui.contract.protocol import CheckpointSaved, Command, Error, Log, Stop
from realm_tui.trainer.control import ScriptedControl

Usage = namedtuple("Usage", "total used free")


class Disk:
    """Free space as the loop sees it: real, or 0 while `full`."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.full = False
        real = shutil.disk_usage

        def usage(path: object) -> Usage:
            total, used, free = real(path)  # type: ignore[arg-type]
            return Usage(total, used, 0 if self.full else free)

        monkeypatch.setattr("realm_tui.trainer.loop.shutil.disk_usage", usage)


class FullAfter(ScriptedControl):
    """The disk fills once step `at` is reached; while the battle blocks, `on_blocked(n)` decides
    what the n-th poll returns (never raises: a loop that waits forever fails the limit instead)."""

    def __init__(self, disk: Disk, at: int, on_blocked, limit: int = 2000) -> None:  # type: ignore[no-untyped-def]
        super().__init__()
        self.disk, self.at, self.on_blocked, self.limit, self.blocked = disk, at, on_blocked, limit, 0

    def notify_step(self, step: int) -> None:
        super().notify_step(step)
        if step >= self.at and self.blocked == 0:
            self.disk.full = True

    def poll(self, timeout: float = 0.0) -> list[Command]:
        if timeout <= 0:
            return super().poll(timeout)
        self.blocked += 1
        assert self.blocked < self.limit, "the battle never left the disk-full pause"
        return list(self.on_blocked(self.blocked))


def test_space_coming_back_resumes_the_battle_by_itself(make_job, battle, monkeypatch) -> None:
    monkeypatch.setattr("realm_tui.trainer.loop.DISK_POLL_S", 0.0, raising=False)
    disk = Disk(monkeypatch)

    def free_on_third_poll(n: int) -> list[Command]:
        if n == 3:
            disk.full = False  # the player deleted something: no key is pressed
        return []

    stopped, events = battle(make_job(max_steps=6, save_steps=2), FullAfter(disk, 3, free_on_third_poll))
    assert [e.kind for e in events.of(Error)] == ["disk_full"]
    assert any("disk space is back" in log.message for log in events.of(Log))
    assert stopped.reason == "finished" and stopped.step == 6
    assert [c.step for c in events.of(CheckpointSaved)] == [2, 4, 6]  # step 4's save was not lost
    assert all(is_valid_checkpoint(Path(c.path)) for c in events.of(CheckpointSaved))


def test_stop_while_paused_saves_once_space_allows(make_job, battle, monkeypatch) -> None:
    monkeypatch.setattr("realm_tui.trainer.loop.DISK_POLL_S", 1e9, raising=False)  # only the Stop may end the pause
    disk = Disk(monkeypatch)

    def stop_after_freeing(n: int) -> list[Command]:
        if n == 5:
            disk.full = False
            return [Stop(reason="signal")]  # Ctrl-C
        return []

    stopped, events = battle(make_job(max_steps=8, save_steps=2), FullAfter(disk, 3, stop_after_freeing))
    saved = events.of(CheckpointSaved)
    assert [c.step for c in saved] == [2, 4]
    assert stopped.reason == "signal" and stopped.step == 4
    assert stopped.checkpoint == saved[-1].path and is_valid_checkpoint(Path(saved[-1].path))


def test_stop_while_the_disk_is_still_full_keeps_the_last_checkpoint(make_job, battle, monkeypatch) -> None:
    monkeypatch.setattr("realm_tui.trainer.loop.DISK_POLL_S", 0.0, raising=False)
    disk = Disk(monkeypatch)
    control = FullAfter(disk, 3, lambda n: [Stop(reason="signal")] if n == 4 else [])
    stopped, events = battle(make_job(max_steps=8, save_steps=2), control)
    saved = events.of(CheckpointSaved)
    assert [c.step for c in saved] == [2]
    assert stopped.reason == "disk_full" and stopped.checkpoint == saved[0].path
    assert not list(Path(saved[0].path).parent.glob(".tmp-*"))
