"""Issue 15, point 4: `realm doctor` says who holds the store (the running battle itself is in
tests/battle/test_reads_during_battle.py), and detects and clears the lock note a killed writer
left behind, saying so."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli_kit import SRC, realm_cli
from realm_tui.paths import RealmPaths
from realm_tui.services.init_realm import init_realm
from realm_tui.store import read_holder_pid
from realm_tui.store.lock import pid_path

HOLD = (
    "import sys; from realm_tui.store import Store, HeroRecord; s = Store.open(sys.argv[1]); "
    "s.heroes.upsert(HeroRecord(id='held')); print('held', flush=True); sys.stdin.readline()"
)


@pytest.fixture
def realm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RealmPaths:
    monkeypatch.setenv("COLUMNS", "250")  # the doctor's table unwrapped: the checks read whole phrases
    realm, _ = init_realm(tmp_path / "realm")
    return realm


@pytest.fixture
def holder(realm: RealmPaths) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the realm's store for writing (not a battle)."""
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(realm.store_file)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == "held\n"
        yield child
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(30)


def test_doctor_names_another_process_holding_the_store(realm: RealmPaths, holder: subprocess.Popen[str]) -> None:
    out = realm_cli(realm.root, "doctor")
    said = out.stdout + out.stderr
    assert f"Another realm process writes the store: pid {holder.pid}" in said and " since " in said, said
    assert "Ready to train once the running battle ends" in said and "Ready to train." not in said
    assert read_holder_pid(realm.store_file) == holder.pid  # a live holder's note is never touched


def test_doctor_clears_the_lock_a_killed_writer_left(realm: RealmPaths, holder: subprocess.Popen[str]) -> None:
    holder.send_signal(signal.SIGKILL)
    holder.wait(30)
    assert read_holder_pid(realm.store_file) == holder.pid  # left behind by the kill

    out = realm_cli(realm.root, "doctor")
    said = out.stdout + out.stderr
    assert f"cleared a stale lock on {realm.store_file}: pid {holder.pid}" in said, said
    assert "is no longer running" in said and "Ready to train." in said
    assert not pid_path(realm.store_file).exists()

    again = realm_cli(realm.root, "doctor")
    assert "none running: the store is free" in again.stdout and "stale" not in again.stdout
