"""Who holds the store's writer lock now, since when, and what a dead holder left behind.

The writer lock (:mod:`realm_tui.store.lock`) is an ``flock`` on ``realm.json.lock``: the kernel
drops it when its process dies, however it dies. What a killed holder does leave is the pid
sidecar ``realm.json.lock.pid``, which then names a process that holds nothing (or, after pid
reuse, an unrelated one). So whether the lock is *held* is asked of the kernel (a non-blocking
shared ``flock`` probe, released at once), and the sidecar only says *who* holds it and, by its
mtime, *since when*. A sidecar while nobody holds the lock is stale: :func:`clear_stale_lock`
removes it, holding the lock while it does so that a new writer's sidecar is never touched.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

from realm_tui.store.lock import lock_path, pid_path, read_holder_pid

try:
    import fcntl
except ImportError:  # pragma: no cover - not a Unix: the lock cannot be probed
    fcntl = None  # type: ignore[assignment]


@dataclass(frozen=True)
class LockHolder:
    """The process that holds the writer lock of one store."""

    pid: int | None
    """From the sidecar (None: the holder did not write it, or it could not be read)."""
    since: float | None
    """When it took the lock (the sidecar's mtime)."""
    command: str
    """Its command line, shortened (empty when unknown)."""

    @property
    def subcommand(self) -> str:
        """``train`` for ``realm train --no-ui …``; empty for the game (``realm``) or an unknown process."""
        words = self.command.split()
        if not words or words[0] != "realm":
            return ""
        return next((w for w in words[1:] if not w.startswith("-")), "")

    @property
    def is_battle(self) -> bool:
        """A headless battle (`realm train --no-ui`); the game may fight one too (see :attr:`is_game`)."""
        return self.subcommand == "train" and "--no-ui" in self.command.split()

    @property
    def is_game(self) -> bool:
        """The game (``realm``, or ``realm train`` without ``--no-ui``)."""
        words = self.command.split()
        return bool(words) and words[0] == "realm" and self.subcommand in ("", "train") and not self.is_battle

    def describe(self, now: float | None = None) -> str:
        """``pid 123 (realm train --no-ui …) since 21:58:03 (4m10s)``."""
        who = f"pid {self.pid}" if self.pid is not None else "a process (pid unknown)"
        if self.command:
            who += f" ({self.command})"
        if self.since is not None:
            who += f" since {time.strftime('%H:%M:%S', time.localtime(self.since))}"
            who += f" ({duration((now or time.time()) - self.since)})"
        return who


def duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def lock_is_held(store_path: Path) -> bool:
    """Whether some process (this one included) holds the writer lock of ``store_path`` now."""
    if fcntl is None:  # pragma: no cover
        return read_holder_pid(store_path) is not None
    try:
        fd = os.open(lock_path(store_path), os.O_RDONLY)
    except OSError:
        return False  # no lock file: nobody ever locked this store (or its folder is gone)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def command_of(pid: int, width: int = 80) -> str:
    """``realm train --no-ui --hero tiny`` for a realm process (from /proc; empty when unknown)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    argv = [a.decode("utf-8", "replace") for a in raw.split(b"\0") if a]
    # `python -m realm_tui …`, `…/bin/realm …`: show it as `realm …`, without --home and its folder.
    for i, arg in enumerate(argv):
        if Path(arg).name in ("realm", "realm_tui"):
            argv = ["realm", *argv[i + 1 :]]
            break
    shown: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--home":
            skip = True
        elif not arg.startswith("--home="):
            shown.append(arg)
    text = " ".join(shown)
    return text if len(text) <= width else text[: width - 1] + "…"


def lock_holder(store_path: Path) -> LockHolder | None:
    """The process holding the writer lock of ``store_path`` now, or None when nobody does."""
    store_path = Path(store_path)
    if not lock_is_held(store_path):
        return None
    pid = read_holder_pid(store_path)
    try:
        since: float | None = pid_path(store_path).stat().st_mtime
    except OSError:
        since = None
    return LockHolder(pid=pid, since=since, command=command_of(pid) if pid is not None else "")


def stale_lock_message(store_path: Path, pid: int) -> str:
    return (
        f"cleared a stale lock on {store_path}: pid {pid} took it and is no longer running "
        "(killed or crashed); the store is free"
    )


def clear_stale_lock(store_path: Path) -> str | None:
    """Remove the pid sidecar a dead writer left (nobody holds the lock); say so, else None.

    Takes the lock (non-blocking) while it removes the sidecar: a writer starting at the same
    moment either waits those few microseconds or has its own sidecar left alone."""
    store_path = Path(store_path)
    pid = read_holder_pid(store_path)
    if pid is None and not pid_path(store_path).exists():
        return None
    if fcntl is None:  # pragma: no cover
        return None
    try:
        fd = os.open(lock_path(store_path), os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return None  # held: the sidecar names the live holder
        try:
            if read_holder_pid(store_path) != pid:
                return None  # changed under us (cannot while we hold the lock, but be sure)
            with contextlib.suppress(FileNotFoundError):
                pid_path(store_path).unlink()
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
    if pid is None:
        return f"removed an unreadable lock note {pid_path(store_path)} (nobody holds the store)"
    return stale_lock_message(store_path, pid)
