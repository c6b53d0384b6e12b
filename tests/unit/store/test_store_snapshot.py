"""Read-only snapshots (issue 15, point 1): one read of the file, no lock, never a half version,
every query of one snapshot from the same version, and no way to write through one."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from realm_tui.store import SCHEMA_VERSION, CampaignRecord, Store, StoreError
from realm_tui.store.snapshot import open_snapshot

from ._helpers import hero, spawn_child

HOLDER_CHILD = """
import sys
from pathlib import Path
from realm_tui.store import HeroRecord, Store

with Store.open(Path(sys.argv[1])) as store:
    store.heroes.upsert(HeroRecord(id="held"))
    print("locked", flush=True)
    sys.stdin.readline()
"""

# Each round writes twice (a hero, then the campaign's step = the round), so in every committed
# version the step is len(heroes) - 1 (both writes done) or len(heroes) - 2 (between the two).
CHURN_CHILD = """
import sys
from pathlib import Path
from realm_tui.store import CampaignRecord, HeroRecord, Store

with Store.open(Path(sys.argv[1])) as store:
    store.campaigns.add(CampaignRecord(id="c", hero_id="h", current_step=0))
    store.heroes.add(HeroRecord(id="h0"))
    print("writing", flush=True)
    for i in range(1, int(sys.argv[2]) + 1):
        store.heroes.add(HeroRecord(id=f"h{i}"))
        store.campaigns.update("c", current_step=i)
print("done", flush=True)
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


def test_a_snapshot_keeps_the_version_it_opened(store_path: Path) -> None:
    with Store.open(store_path) as writer:
        writer.heroes.add(hero(0))
        with open_snapshot(store_path) as snapshot:
            writer.heroes.add(hero(1))
            writer.campaigns.add(CampaignRecord(id="c", hero_id="hero-1"))
            assert [h.id for h in snapshot.heroes.all()] == ["hero-0"]
            assert snapshot.campaigns.all() == [] and "hero-1" not in snapshot.heroes
        with open_snapshot(store_path) as later:
            assert [h.id for h in later.heroes.all()] == ["hero-0", "hero-1"] and len(later.campaigns) == 1


def test_a_snapshot_cannot_be_written(store_path: Path) -> None:
    with Store.open(store_path) as writer:
        writer.heroes.add(hero(0))
    before = store_path.read_bytes()
    with open_snapshot(store_path) as snapshot:
        assert snapshot.readonly
        with pytest.raises(StoreError, match="read-only"):
            snapshot.heroes.add(hero(1))
        with pytest.raises(StoreError, match="read-only"):
            snapshot.heroes.update("hero-0", name="x")
        with pytest.raises(StoreError, match="read-only snapshot"):
            snapshot._storage.write({"meta": {"1": {"schema_version": SCHEMA_VERSION}}})
        assert [h.id for h in snapshot.heroes.all()] == ["hero-0"]  # a refused write changes nothing
    assert store_path.read_bytes() == before


def test_a_snapshot_opens_while_another_process_holds_the_writer_lock(
    store_path: Path, holder: subprocess.Popen[str]
) -> None:
    with open_snapshot(store_path) as snapshot:
        assert [h.id for h in snapshot.heroes.all()] == ["held"]
    with pytest.raises(StoreError, match="in use by another realm process"):
        Store.open(store_path)


def test_missing_refused_and_newer_files(store_path: Path) -> None:
    with open_snapshot(store_path) as snapshot:  # a new realm: empty, nothing created
        assert snapshot.heroes.all() == [] and snapshot.schema_version is None
    assert not store_path.exists() and not store_path.parent.exists()
    store_path.parent.mkdir(parents=True)
    store_path.write_text("{}")
    with pytest.raises(StoreError, match=r"cannot be used: .*no meta table.*doctor --repair"):
        open_snapshot(store_path)
    store_path.write_text(json.dumps({"meta": {"1": {"schema_version": SCHEMA_VERSION + 1}}}))
    with pytest.raises(StoreError, match="newer realm"):
        open_snapshot(store_path)


def test_snapshots_read_during_a_storm_of_writes_are_whole_and_consistent(store_path: Path) -> None:
    rounds = 150
    child = spawn_child(CHURN_CHILD, str(store_path), str(rounds))
    assert child.stdout is not None and child.stderr is not None
    seen: list[int] = []
    try:
        assert child.stdout.readline() == "writing\n", child.stderr.read()
        while child.poll() is None:
            with open_snapshot(store_path) as snapshot:  # never refused, never a torn file
                heroes = len(snapshot.heroes.all())
                step = snapshot.campaigns.require("c").current_step
            # Both tables from one version: a store re-read between the two queries could show
            # a step newer than the heroes counted before it.
            assert step in (heroes - 1, heroes - 2), (heroes, step)
            seen.append(step)
        assert child.wait(60) == 0, child.stderr.read()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert seen == sorted(seen) and len(set(seen)) > 1  # versions moved on while we read
    with open_snapshot(store_path) as final:
        assert final.campaigns.require("c").current_step == rounds and len(final.heroes) == rounds + 1
