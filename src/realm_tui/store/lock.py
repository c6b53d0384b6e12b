"""The single-writer lock on the store: ``realm.json.lock`` (filelock) plus a pid sidecar.

Only one process may write the store. A second writer fails fast (0.2 s) with a
:class:`StoreError` that names the file and, best effort, the pid of the process holding it (read
from ``realm.json.lock.pid``, which the holder writes after acquiring). Read-only opens take no
lock: atomic replaces mean the file is always a complete document.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from filelock import FileLock, Timeout

from realm_tui.errors import StoreError

DEFAULT_TIMEOUT = 0.2


class StoreBusy(StoreError):
    """Another process holds the writer lock (a battle, the game, another command): read a
    snapshot instead (:func:`realm_tui.store.snapshot.open_snapshot`), or wait for it to end."""

    def __init__(self, message: str, pid: int | None) -> None:
        super().__init__(message)
        self.pid = pid


def lock_path(store_path: Path) -> Path:
    return store_path.with_name(store_path.name + ".lock")


def pid_path(store_path: Path) -> Path:
    return store_path.with_name(store_path.name + ".lock.pid")


def read_holder_pid(store_path: Path) -> int | None:
    """The pid the current holder wrote into the sidecar, or None when unknown."""
    try:
        text = pid_path(store_path).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


class StoreLock:
    """Exclusive inter-process lock for one store file; not re-entrant, release is idempotent."""

    def __init__(self, store_path: Path, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.store_path = Path(store_path)
        self.lock_path = lock_path(self.store_path)
        self.pid_path = pid_path(self.store_path)
        self.timeout = timeout
        self._lock = FileLock(str(self.lock_path), timeout=timeout, thread_local=False)
        self._held = False

    @property
    def held(self) -> bool:
        return self._held

    def acquire(self) -> None:
        """Take the lock or raise StoreError naming the file and the holder's pid."""
        if self._held:
            return
        try:
            self._lock.acquire()
        except Timeout:
            pid = read_holder_pid(self.store_path)
            if pid == os.getpid():
                raise StoreError(f"{self.store_path} is already open for writing in this process (pid {pid})") from None
            who = f"pid {pid}" if pid is not None else "pid unknown"
            raise StoreBusy(
                f"{self.store_path} is in use by another realm process ({who}); "
                "close that one first, or open the store read-only",
                pid,
            ) from None
        except OSError as err:
            raise StoreError(f"cannot lock {self.lock_path}: {err.strerror or err}") from err
        self._held = True
        with contextlib.suppress(OSError):  # best effort: only the error message uses it
            self.pid_path.write_text(f"{os.getpid()}\n", encoding="ascii")

    def release(self) -> None:
        if not self._held:
            return
        if read_holder_pid(self.store_path) == os.getpid():
            with contextlib.suppress(OSError):
                self.pid_path.unlink()
        self._held = False
        self._lock.release()

    def __enter__(self) -> StoreLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
