"""The crash-safe storage: atomic writes, backups, refusing bad files and values, repair (issue 13)."""

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
from realm_tui.store.repair import repair_store
from realm_tui.store.storage import GENERATIONS_KEPT, generations, temp_prefix

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


DAMAGES = [
    pytest.param(lambda raw: raw[: len(raw) // 2], id="truncated"),
    pytest.param(lambda raw: b"", id="empty"),
    pytest.param(lambda raw: b"\x00\xff garbage \x13\x37" * 20, id="garbage"),
    pytest.param(lambda raw: b"[1, 2, 3]", id="not-an-object"),
    pytest.param(lambda raw: b'{"heroes": [1]}', id="table-not-an-object"),
    pytest.param(lambda raw: b"{}", id="empty-object"),
    pytest.param(lambda raw: b'{"heroes": {"1": {"id": "x"}}}', id="no-meta"),
    pytest.param(lambda raw: b'{"meta": {"1": {"schema_version": "1"}}}', id="schema-not-int"),
    pytest.param(lambda raw: b'{"meta": {"1": {"schema_version": 1}}, "heroes": {"a": 1}}', id="not-tinydb"),
]


@pytest.mark.parametrize("damage", DAMAGES)
@pytest.mark.parametrize("readonly", [False, True], ids=["writer", "reader"])
def test_damaged_file_is_refused_and_nothing_changes(
    store_path: Path, damage: Callable[[bytes], bytes], readonly: bool
) -> None:
    committed_store(store_path, 3)
    good_backup = backup_path(store_path).read_bytes()
    kept = {p: p.read_bytes() for p in generations(store_path)}
    damaged = damage(store_path.read_bytes())
    store_path.write_bytes(damaged)

    with pytest.raises(StoreError) as err:
        Store.open(store_path, readonly=readonly)
    assert str(store_path) in str(err.value) and "realm doctor --repair" in str(err.value)
    # never treated as a new store, and no backup was touched
    assert store_path.read_bytes() == damaged
    assert backup_path(store_path).read_bytes() == good_backup
    assert {p: p.read_bytes() for p in generations(store_path)} == kept
    assert corrupt_files(store_path) == []
    with StoreLock(store_path) as lock:  # a refused writer released its lock
        assert lock.held


def test_a_folder_in_place_of_the_store_is_refused(store_path: Path) -> None:
    committed_store(store_path, 2)
    store_path.unlink()
    store_path.mkdir()
    for readonly in (False, True):
        with pytest.raises(StoreError, match="is a folder"):
            Store.open(store_path, readonly=readonly)


def test_repair_restores_the_last_commit_saying_which(store_path: Path) -> None:
    committed_store(store_path, 3)
    store_path.write_bytes(b"{}")  # e.g. `echo '{}' > saves/realm.json`
    report = repair_store(store_path)
    newest = generations(store_path)[0]
    assert report.repaired and str(newest) in report.message
    aside = corrupt_files(store_path)
    assert len(aside) == 1 and aside[0].read_bytes() == b"{}" and aside[0].name in report.message
    with Store.open(store_path) as store:
        # the newest generation is the last commit: nothing committed was lost
        assert [h.id for h in store.heroes.all()] == ["hero-0", "hero-1", "hero-2"]
        store.heroes.add(hero(9))  # and it is writable again
    assert repair_store(store_path).repaired is False


def test_repair_takes_the_newest_good_version(store_path: Path) -> None:
    committed_store(store_path, 4)
    store_path.write_bytes(b"garbage")
    gens = generations(store_path)
    gens[0].write_bytes(b"{}")
    report = repair_store(store_path)
    assert str(gens[1]) in report.message
    with Store.open(store_path) as store:
        assert [h.id for h in store.heroes.all()] == ["hero-0", "hero-1", "hero-2"]


def test_repair_uses_the_backup_without_generations(store_path: Path) -> None:
    committed_store(store_path, 3)
    for old in generations(store_path):
        old.unlink()
    store_path.write_bytes(b"[]")
    report = repair_store(store_path)
    assert str(backup_path(store_path)) in report.message
    with Store.open(store_path) as store:
        assert [h.id for h in store.heroes.all()] == ["hero-0", "hero-1"]


def test_generations_keep_the_last_good_versions(store_path: Path) -> None:
    committed_store(store_path, 8)  # 9 writes
    kept = generations(store_path)
    assert len(kept) == GENERATIONS_KEPT >= 3
    assert kept[0].read_bytes() == store_path.read_bytes()
    assert kept[0].stat().st_ino != store_path.stat().st_ino  # a file of its own
    heroes = [len(json.loads(p.read_bytes()).get("heroes", {})) for p in kept]
    assert heroes == [8, 7, 6, 5, 4]  # newest first


def test_a_bad_state_is_never_backed_up(store_path: Path) -> None:
    committed_store(store_path, 3)
    with Store.open(store_path) as store:
        good = backup_path(store_path).read_bytes()
        before = {p: p.read_bytes() for p in generations(store_path)}
        store_path.write_bytes(b"{}")  # damaged behind the open writer's back
        with pytest.raises(StoreError, match="cannot be used"):
            store.heroes.add(hero(9))
    assert backup_path(store_path).read_bytes() == good
    assert {p: p.read_bytes() for p in generations(store_path)} == before


def test_writing_a_store_without_meta_is_refused(store_path: Path) -> None:
    committed_store(store_path, 1)
    before = store_path.read_bytes()
    storage = SafeJSONStorage(store_path)
    with pytest.raises(StoreError, match="refusing to write"):
        storage.write({})
    assert store_path.read_bytes() == before


def test_damage_is_named_in_the_message(store_path: Path) -> None:
    committed_store(store_path, 2)
    store_path.write_bytes(b"{not json")
    with pytest.raises(StoreError, match="not valid JSON"):
        Store.open(store_path)


def test_missing_main_file_is_restored_from_backup(store_path: Path) -> None:
    committed_store(store_path, 2)
    store_path.unlink()
    with Store.open(store_path) as store:
        assert [h.id for h in store.heroes.all()] == ["hero-0", "hero-1"]  # the last commit
        assert "was missing" in store.warnings[0]
    assert store_path.exists()


def test_a_reader_never_shows_a_missing_store_with_backups_as_empty(store_path: Path) -> None:
    committed_store(store_path, 2)
    store_path.unlink()
    with pytest.raises(StoreError, match="missing but its backups exist"):
        Store.open(store_path, readonly=True)
    assert "restored" in repair_store(store_path).message
    with Store.open(store_path, readonly=True) as store:
        assert [h.id for h in store.heroes.all()] == ["hero-0", "hero-1"]


def test_nothing_to_repair_from_names_every_file(store_path: Path) -> None:
    committed_store(store_path, 2)
    store_path.write_bytes(b"garbage")
    backup_path(store_path).write_bytes(b"{")
    for old in generations(store_path):
        old.write_bytes(b"[]")
    with pytest.raises(StoreError) as err:
        repair_store(store_path)
    assert str(store_path) in str(err.value) and str(backup_path(store_path)) in str(err.value)
    assert store_path.read_bytes() == b"garbage"  # nothing moved when nothing can be restored
    assert corrupt_files(store_path) == []


def test_bad_main_without_backup_raises(store_path: Path) -> None:
    store_path.parent.mkdir(parents=True)
    store_path.write_bytes(b"")
    with pytest.raises(StoreError, match="the file is empty"):
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
