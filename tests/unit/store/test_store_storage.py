"""The crash-safe storage: atomic writes, backup, recovery at open, refusing bad values."""

from __future__ import annotations

import errno
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from tinydb import TinyDB

from realm_tui.paths import RealmPaths
from realm_tui.store import (
    SCHEMA_VERSION,
    SafeJSONStorage,
    Store,
    StoreError,
    StoreLock,
    backup_path,
    open_store,
)
from realm_tui.store import storage as storage_module
from realm_tui.store.storage import temp_prefix

from ._helpers import checkpoint, event, hero, no_temp_files


def committed_store(path: Path, n: int = 3) -> None:
    """A store with n heroes, written n+1 times (so a backup exists)."""
    with Store.open(path) as store:
        for i in range(n):
            store.heroes.add(hero(i))


def corrupt_files(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f"{path.name}.corrupt-*"))


def test_new_store_writes_meta_and_nothing_else(store_path: Path) -> None:
    with Store.open(store_path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert store.warnings == []
    assert json.loads(store_path.read_text()) == {"meta": {"1": {"schema_version": SCHEMA_VERSION}}}
    assert no_temp_files(store_path)
    assert not (store_path.parent / "realm.json.lock.pid").exists()


def test_each_write_keeps_the_previous_version_as_backup(store_path: Path) -> None:
    with Store.open(store_path) as store:
        store.heroes.add(hero(0))
        previous = store_path.read_bytes()
        store.heroes.add(hero(1))
        assert backup_path(store_path).read_bytes() == previous
        assert json.loads(store_path.read_bytes())["heroes"]["2"]["id"] == "hero-1"
    assert no_temp_files(store_path)


def test_backup_is_a_synced_copy_where_hard_links_fail(store_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_links(src: object, dst: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    with Store.open(store_path) as store:
        store.heroes.add(hero(0))
        previous = store_path.read_bytes()
        store.heroes.add(hero(1))
        assert backup_path(store_path).read_bytes() == previous
        assert backup_path(store_path).stat().st_ino != store_path.stat().st_ino
    assert no_temp_files(store_path)


def test_open_store_takes_realm_paths(tmp_path: Path) -> None:
    paths = RealmPaths(tmp_path)
    with open_store(paths) as store:
        store.heroes.add(hero(0))
    assert paths.store_file.exists()
    with open_store(paths.store_file, readonly=True) as store:
        assert len(store.heroes) == 1


def test_file_permissions_are_kept(store_path: Path) -> None:
    committed_store(store_path, 1)
    os.chmod(store_path, 0o640)
    with Store.open(store_path) as store:
        store.heroes.add(hero(5))
    assert stat.S_IMODE(store_path.stat().st_mode) == 0o640


def test_reopen_keeps_every_record(store_path: Path) -> None:
    committed_store(store_path, 5)
    with Store.open(store_path) as store:
        assert [h.id for h in store.heroes.all()] == [f"hero-{i}" for i in range(5)]
        assert store.warnings == []


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda raw: raw[: len(raw) // 2], id="truncated"),
        pytest.param(lambda raw: b"", id="empty"),
        pytest.param(lambda raw: b"\x00\xff garbage \x13\x37" * 20, id="garbage"),
        pytest.param(lambda raw: b"[1, 2, 3]", id="not-an-object"),
        pytest.param(lambda raw: b'{"heroes": [1]}', id="table-not-an-object"),
    ],
)
def test_damaged_file_is_quarantined_and_backup_restored(store_path: Path, damage: Callable[[bytes], bytes]) -> None:
    committed_store(store_path, 3)
    good_backup = backup_path(store_path).read_bytes()
    damaged = damage(store_path.read_bytes())
    store_path.write_bytes(damaged)

    with Store.open(store_path) as store:
        # the backup is the version before the last write: heroes 0 and 1
        assert [h.id for h in store.heroes.all()] == ["hero-0", "hero-1"]
        assert len(store.warnings) == 1
        assert "restored the backup" in store.warnings[0]
        aside = corrupt_files(store_path)
        assert len(aside) == 1 and aside[0].name in store.warnings[0]
        store.heroes.add(hero(9))  # and it is writable again
    assert aside[0].read_bytes() == damaged
    assert store_path.read_bytes() != damaged
    assert backup_path(store_path).read_bytes() == good_backup
    assert no_temp_files(store_path)


def test_damage_warning_is_logged(store_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    committed_store(store_path, 2)
    store_path.write_bytes(b"{not json")
    with caplog.at_level("WARNING", logger="realm_tui.store"), Store.open(store_path):
        pass
    assert "could not be read" in caplog.text


def test_quarantine_names_do_not_collide(store_path: Path) -> None:
    committed_store(store_path, 2)
    for _ in range(2):
        store_path.write_bytes(b"garbage")
        with Store.open(store_path):
            pass
    assert len(corrupt_files(store_path)) == 2


def test_missing_main_file_is_restored_from_backup(store_path: Path) -> None:
    committed_store(store_path, 2)
    store_path.unlink()
    with Store.open(store_path) as store:
        assert [h.id for h in store.heroes.all()] == ["hero-0"]
        assert "was missing" in store.warnings[0]
    assert store_path.exists()


def test_both_files_bad_raises_naming_both(store_path: Path) -> None:
    committed_store(store_path, 2)
    store_path.write_bytes(b"garbage")
    backup_path(store_path).write_bytes(b"{")
    with pytest.raises(StoreError) as err:
        Store.open(store_path)
    assert str(store_path) in str(err.value) and str(backup_path(store_path)) in str(err.value)
    assert store_path.read_bytes() == b"garbage"  # nothing moved when nothing can be restored
    assert corrupt_files(store_path) == []
    # and the lock was released: fixing the file lets the next open succeed
    backup_path(store_path).unlink()
    store_path.unlink()
    with Store.open(store_path) as store:
        assert store.heroes.all() == []


def test_bad_main_without_backup_raises(store_path: Path) -> None:
    store_path.parent.mkdir(parents=True)
    store_path.write_bytes(b"")
    with pytest.raises(StoreError, match="no backup"):
        Store.open(store_path)


def test_leftover_temp_files_are_removed_but_not_others(store_path: Path) -> None:
    committed_store(store_path, 1)
    ours = store_path.parent / f"{temp_prefix(store_path)}abc123.tmp"
    ours_bak = store_path.parent / f"{temp_prefix(store_path)}abc123.bak.tmp"
    theirs = [store_path.parent / "notes.tmp", store_path.parent / ".realm.json.keep"]
    for p in [ours, ours_bak, *theirs]:
        p.write_text("x")
    with Store.open(store_path):
        pass
    assert not ours.exists() and not ours_bak.exists()
    assert all(p.exists() for p in theirs)


def test_readonly_open_repairs_nothing_but_reads_the_backup(store_path: Path) -> None:
    committed_store(store_path, 2)
    leftover = store_path.parent / f"{temp_prefix(store_path)}zzz.tmp"
    leftover.write_text("x")
    store_path.write_bytes(b"garbage")
    with Store.open(store_path, readonly=True) as store:
        assert [h.id for h in store.heroes.all()] == ["hero-0"]
        assert any("showing the backup" in w for w in store.warnings)
    assert store_path.read_bytes() == b"garbage"
    assert leftover.exists() and corrupt_files(store_path) == []


def test_readonly_open_of_a_missing_store_is_empty(store_path: Path) -> None:
    with Store.open(store_path, readonly=True) as store:
        assert store.ledger.all() == [] and store.schema_version is None
    assert not store_path.parent.exists()


def test_newer_schema_is_refused(store_path: Path) -> None:
    committed_store(store_path, 1)
    data = json.loads(store_path.read_text())
    data["meta"]["1"]["schema_version"] = SCHEMA_VERSION + 1
    store_path.write_text(json.dumps(data))
    for readonly in (False, True):
        with pytest.raises(StoreError, match="newer realm"):
            Store.open(store_path, readonly=readonly)
    with StoreLock(store_path) as lock:  # the refused writer released its lock
        assert lock.held


def test_invalid_stored_record_names_table_and_file(store_path: Path) -> None:
    committed_store(store_path, 1)
    data = json.loads(store_path.read_text())
    data["heroes"]["1"]["parameters"] = "many"
    store_path.write_text(json.dumps(data))
    with Store.open(store_path) as store, pytest.raises(StoreError, match="heroes"):
        store.heroes.all()


# -- (d) a value JSON cannot hold --------------------------------------------------------------


def test_unserialisable_value_raises_and_leaves_the_file_byte_identical(store_path: Path) -> None:
    with Store.open(store_path) as store:
        store.ledger.add(checkpoint(100))
        before = store_path.read_bytes()
        before_bak = backup_path(store_path).read_bytes()
        with pytest.raises(StoreError, match="nothing was written"):
            store.events.add(event("x", thing=object()))
        with pytest.raises(StoreError):
            store.ledger.update("checkpoint-100-20250101-1200", notes={"bad": object()})
        assert store_path.read_bytes() == before
        assert backup_path(store_path).read_bytes() == before_bak
        # the in-memory state did not keep the failed change either
        assert store.events.all() == []
        assert store.ledger.require("checkpoint-100-20250101-1200").notes == {}
        store.events.add(event("ok"))
    assert no_temp_files(store_path)


def test_storage_level_unserialisable_value_leaves_file_identical(store_path: Path) -> None:
    committed_store(store_path, 1)
    before = store_path.read_bytes()
    storage = SafeJSONStorage(store_path)
    db = TinyDB(storage=lambda: storage)
    with pytest.raises((TypeError, StoreError)):
        db.table("heroes").insert({"id": "bad", "value": object()})
    with pytest.raises((TypeError, ValueError, StoreError)):
        db.table("heroes").insert({"id": "bad", "value": float("nan"), "s": "\ud800"})
    assert store_path.read_bytes() == before
    assert [d["id"] for d in db.table("heroes").all()] == ["hero-0"]
    assert no_temp_files(store_path)
    db.close()


def test_disk_error_mid_write_raises_store_error_and_keeps_previous(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    committed_store(store_path, 1)
    before = store_path.read_bytes()

    def disk_full(stage: str) -> None:
        if stage == "tmp_synced":
            raise OSError(errno.ENOSPC, "No space left on device")

    with Store.open(store_path) as store:
        monkeypatch.setattr(storage_module, "_crash_hook", disk_full)
        with pytest.raises(StoreError, match="No space left on device; the previous version is kept"):
            store.heroes.add(hero(7))
        assert store_path.read_bytes() == before
        assert no_temp_files(store_path)
        assert [h.id for h in store.heroes.all()] == ["hero-0"]
        monkeypatch.setattr(storage_module, "_crash_hook", None)
        store.heroes.add(hero(8))
        assert [h.id for h in store.heroes.all()] == ["hero-0", "hero-8"]


def test_big_unicode_document_round_trips(store_path: Path) -> None:
    with Store.open(store_path) as store:
        for i in range(200):
            store.events.add(event("log", text="⓪①" * 50 + "🐉", i=i))
    with Store.open(store_path, readonly=True) as store:
        assert len(store.events) == 200
        assert store.events.recent(1)[0].data["text"].endswith("🐉")
