"""One writer at a time, across real processes; readers need no lock."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from realm_tui.store import Store, StoreError, StoreLock, read_holder_pid

from ._helpers import hero, spawn_child

HOLDER_CHILD = """
import sys
from pathlib import Path
from realm_tui.store import HeroRecord, Store

with Store.open(Path(sys.argv[1])) as store:
    store.heroes.upsert(HeroRecord(id="held"))
    print("locked", flush=True)
    sys.stdin.readline()  # hold the lock until the parent says so
print("released", flush=True)
"""


@pytest.fixture
def holder(store_path: Path) -> Iterator[subprocess.Popen[str]]:
    """A child process that holds the writer lock on the store until its stdin is closed."""
    child = spawn_child(HOLDER_CHILD, str(store_path))
    assert child.stdout is not None and child.stderr is not None
    try:
        assert child.stdout.readline() == "locked\n", child.stderr.read()
        yield child
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_second_writer_fails_fast_naming_file_and_pid(store_path: Path, holder: subprocess.Popen[str]) -> None:
    started = time.monotonic()
    with pytest.raises(StoreError) as err:
        Store.open(store_path)
    # A guard against waiting on the holder (filelock's default waits forever), not a timing: the
    # lock's own timeout is 0.2 s, and a busy machine may add seconds to a subprocess-heavy test.
    assert time.monotonic() - started < 10.0
    message = str(err.value)
    assert f"{store_path} is in use by another realm process (pid {holder.pid})" in message
    assert read_holder_pid(store_path) == holder.pid


def test_readonly_open_works_while_a_writer_holds_the_lock(store_path: Path, holder: subprocess.Popen[str]) -> None:
    with Store.open(store_path, readonly=True) as store:
        assert [h.id for h in store.heroes.all()] == ["held"]
        with pytest.raises(StoreError, match="read-only"):
            store.heroes.add(hero(1))


def test_lock_is_free_once_the_holder_closes(store_path: Path, holder: subprocess.Popen[str]) -> None:
    out, _ = holder.communicate(input="\n", timeout=30)
    assert "released" in out
    assert not (store_path.parent / "realm.json.lock.pid").exists()
    with Store.open(store_path) as store:
        store.heroes.add(hero(1))
        assert read_holder_pid(store_path) == os.getpid()


def test_lock_is_free_after_the_holder_is_killed(store_path: Path, holder: subprocess.Popen[str]) -> None:
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    with Store.open(store_path) as store:  # a stale pid sidecar does not matter
        assert [h.id for h in store.heroes.all()] == ["held"]
        assert read_holder_pid(store_path) == os.getpid()


def test_second_writer_in_the_same_process_is_refused(store_path: Path) -> None:
    with Store.open(store_path), pytest.raises(StoreError, match="already open for writing in this process"):
        Store.open(store_path)
    Store.open(store_path).close()


def test_lock_object(store_path: Path) -> None:
    store_path.parent.mkdir(parents=True)
    lock = StoreLock(store_path)
    assert not lock.held
    with lock:
        assert lock.held and read_holder_pid(store_path) == os.getpid()
        lock.acquire()  # already held: no-op
    assert not lock.held
    lock.release()  # idempotent
    assert read_holder_pid(store_path) is None
