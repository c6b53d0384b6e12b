"""Read-only snapshots of the store: what every process except the one writer reads.

A snapshot reads ``realm.json`` once, when it is opened, and answers every query from that one
document until it is closed. The writer replaces the file atomically (temp file, fsync,
``os.replace``: see :mod:`realm_tui.store.storage`), so one read of it is always a whole document:
the version before a write or the one after, never half of each. Reading it once also means that
all the queries of one command (a campaign, then its evals, then its checkpoints) agree with each
other while a battle writes on. No lock is taken, so a running battle never refuses a reader and
a reader never slows the battle; any write through a snapshot raises a :class:`StoreError`.

    with open_snapshot(realm) as store:
        campaigns = store.campaigns.all()
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tinydb import TinyDB
from tinydb.storages import Storage

from realm_tui.errors import StoreError
from realm_tui.paths import RealmPaths
from realm_tui.store.db import Store
from realm_tui.store.storage import JsonTables, SafeJSONStorage


class SnapshotStorage(SafeJSONStorage):
    """The store file as it was when opened: read once, never written."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, readonly=True)
        # Parsed and checked once (a refused file raises here, before any query runs).
        self._document: JsonTables | None = self._load()

    def read(self) -> JsonTables | None:
        return self._document

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        raise StoreError(
            f"{self.path} was opened as a read-only snapshot (a battle may be writing it); "
            "it cannot be written from here"
        )

    def invalidate(self) -> None:
        """Nothing to forget: the snapshot is the point (TinyDB never changes it, writes raise)."""


class _Factory:
    """TinyDB builds its storage itself; hand it the snapshot we read already."""

    def __init__(self, storage: SnapshotStorage) -> None:
        self._storage = storage

    def __call__(self) -> Storage:
        return self._storage


def open_snapshot(where: RealmPaths | Path | str) -> Store:
    """A read-only :class:`Store` over one consistent snapshot of a realm's store (or store file).

    Never blocks and never refuses because another process writes the store. A missing file
    reads as an empty store (a new realm); a file that cannot be used is refused with the same
    :class:`StoreError` a writer gets. Use it as a context manager (closing is cheap)."""
    path = where.store_file if isinstance(where, RealmPaths) else Path(where)
    try:
        storage = SnapshotStorage(path)
    except OSError as err:
        raise StoreError(f"cannot read {path}: {err.strerror or err}") from err
    store = Store(path, TinyDB(storage=_Factory(storage)), storage, None, readonly=True)
    store._check_schema()  # a store from a newer realm is refused here as well
    return store


def open_for_reading(realm: RealmPaths) -> Store:
    """How a read-only command opens the realm's store: a snapshot, whoever writes it now."""
    return open_snapshot(realm)
