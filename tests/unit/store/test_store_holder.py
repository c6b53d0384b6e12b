"""Who holds the writer lock (issue 15, point 4), and the note a killed holder leaves behind:
detected (the kernel dropped its flock, the pid sidecar remains) and cleared with a message."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from realm_tui.store import Store, read_holder_pid
from realm_tui.store.holder import LockHolder, clear_stale_lock, command_of, lock_holder, lock_is_held, pid_alive
from realm_tui.store.lock import pid_path

from ._helpers import spawn_child

HOLDER_CHILD = """
import sys
from pathlib import Path
from realm_tui.store import HeroRecord, Store

with Store.open(Path(sys.argv[1])) as store:
    store.heroes.upsert(HeroRecord(id="held"))
    print("locked", flush=True)
    sys.stdin.readline()
"""


@pytest.fixture
def holder(store_path: Path) -> Iterator[subprocess.Popen[str]]:
    child = spawn_child(HOLDER_CHILD, str(store_path))
    assert child.stdout is not None and child.stderr is not None
    try:
        assert child.stdout.readline() == "locked\n", child.stderr.read()
        yield child
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_nobody_holds_a_new_or_closed_store(store_path: Path) -> None:
    assert lock_holder(store_path) is None and not lock_is_held(store_path)
    with Store.open(store_path):
        here = lock_holder(store_path)  # this process: a second flock on the file is refused too
        assert here is not None and here.pid == os.getpid()
    assert lock_holder(store_path) is None and clear_stale_lock(store_path) is None


def test_the_holder_is_named_with_its_pid_command_and_start(store_path: Path, holder: subprocess.Popen[str]) -> None:
    found = lock_holder(store_path)
    assert found is not None and found.pid == holder.pid
    assert found.since is not None and abs(found.since - pid_path(store_path).stat().st_mtime) < 1e-6
    assert "-c" in found.command and not found.is_battle and not found.is_game
    assert clear_stale_lock(store_path) is None  # held: never touched
    assert read_holder_pid(store_path) == holder.pid


def test_a_killed_holders_note_is_stale_and_cleared_with_a_message(
    store_path: Path, holder: subprocess.Popen[str]
) -> None:
    holder.send_signal(signal.SIGKILL)
    holder.wait(30)
    assert read_holder_pid(store_path) == holder.pid  # the note stays behind …
    assert not pid_alive(holder.pid) and lock_holder(store_path) is None  # … but nobody holds the lock
    message = clear_stale_lock(store_path)
    assert message is not None and f"pid {holder.pid}" in message and "no longer running" in message
    assert not pid_path(store_path).exists() and clear_stale_lock(store_path) is None


def test_a_writer_opening_after_a_kill_says_it_cleared_the_stale_lock(
    store_path: Path, holder: subprocess.Popen[str]
) -> None:
    holder.send_signal(signal.SIGKILL)
    holder.wait(30)
    with Store.open(store_path) as store:
        assert len(store.warnings) == 1
        assert f"cleared a stale lock on {store_path}: pid {holder.pid}" in store.warnings[0]
        assert read_holder_pid(store_path) == os.getpid()
    with Store.open(store_path) as store:  # closed cleanly: nothing to say next time
        assert store.warnings == []


def test_realm_commands_are_shown_as_realm(tmp_path: Path) -> None:
    script = "import sys; print('up', flush=True); sys.stdin.readline()"
    fake = tmp_path / "realm_tui"  # `python <dir>/realm_tui --home X train --no-ui`: argv as a realm battle
    fake.mkdir()
    (fake / "__main__.py").write_text(script)
    child = subprocess.Popen(
        [sys.executable, str(fake), "--home", "/somewhere", "train", "--no-ui", "--hero", "tiny"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == "up\n"
        assert command_of(child.pid) == "realm train --no-ui --hero tiny"
    finally:
        child.kill()
        child.wait()
    battle = LockHolder(pid=1, since=time.time() - 75, command="realm train --no-ui --hero tiny")
    assert battle.is_battle and not battle.is_game
    assert battle.describe().startswith("pid 1 (realm train --no-ui --hero tiny) since ")
    assert battle.describe().endswith("(1m15s)")
    assert LockHolder(pid=2, since=None, command="realm").is_game
    assert LockHolder(pid=3, since=None, command="realm train").is_game
    assert not LockHolder(pid=4, since=None, command="realm quest add x.jsonl").is_game
