"""The store: ``saves/realm.json``, opened by one writer (the parent process) or any reader."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from types import TracebackType

from tinydb import TinyDB
from tinydb.storages import Storage

from realm_tui.errors import StoreError
from realm_tui.paths import RealmPaths
from realm_tui.store.archaeology_cache import ArchaeologyCache
from realm_tui.store.holder import pid_alive, stale_lock_message
from realm_tui.store.lock import StoreLock, read_holder_pid
from realm_tui.store.repositories import (
    AchievementRepository,
    CampaignRepository,
    EvalRepository,
    EventRepository,
    HeroRepository,
    LedgerRepository,
    QuestRepository,
)
from realm_tui.store.repository_base import StoreAccess
from realm_tui.store.storage import SafeJSONStorage

#: Version of the store layout this code reads and writes (``meta.schema_version``).
SCHEMA_VERSION = 1
META_TABLE = "meta"


class _StorageFactory:
    """TinyDB builds its storage itself; hand it the one we opened (and repaired) already."""

    def __init__(self, storage: SafeJSONStorage) -> None:
        self._storage = storage

    def __call__(self) -> Storage:
        return self._storage


class Store:
    """An open store. Use ``with Store.open(path) as store:``; closing releases the writer lock."""

    def __init__(
        self, path: Path, db: TinyDB, storage: SafeJSONStorage, lock: StoreLock | None, readonly: bool
    ) -> None:
        self.path = path
        self.readonly = readonly
        self._db = db
        self._storage = storage
        self._lock = lock
        self._closed = False
        access = StoreAccess(db=db, storage=storage, mutex=threading.RLock(), readonly=readonly)
        self._access = access
        self.heroes = HeroRepository(access)
        self.campaigns = CampaignRepository(access)
        self.ledger = LedgerRepository(access)
        self.evals = EvalRepository(access)
        self.quests = QuestRepository(access)
        self.achievements = AchievementRepository(access)
        self.events = EventRepository(access)
        self.archaeology = ArchaeologyCache(access)

    @classmethod
    def open(cls, path: Path | str, *, readonly: bool = False) -> Store:
        """Open (creating if needed) the store at ``path``.

        A writer takes the lock (StoreError fast if another process holds it), repairs what a
        crash left behind (see :mod:`realm_tui.store.storage`; repairs are listed in
        :attr:`warnings`) and writes ``meta.schema_version`` into a new store. A reader takes no
        lock and changes nothing on disk; a missing file reads as an empty store.
        """
        path = Path(path)
        lock: StoreLock | None = None
        previous: int | None = None
        if not readonly:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise StoreError(f"cannot create {path.parent}: {err.strerror or err}") from err
            lock = StoreLock(path)
            previous = read_holder_pid(path)  # a pid still noted when we get the lock: a dead writer
            lock.acquire()
        try:
            try:
                storage = SafeJSONStorage(path, readonly=readonly)
            except OSError as err:
                raise StoreError(f"cannot open {path}: {err.strerror or err}") from err
            store = cls(path, TinyDB(storage=_StorageFactory(storage)), storage, lock, readonly)
            if previous is not None and previous != os.getpid() and not pid_alive(previous):
                storage.warnings.append(stale_lock_message(path, previous))
            store._check_schema()
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        return store

    # -- schema -------------------------------------------------------------------------------------

    @property
    def schema_version(self) -> int | None:
        """The store's ``meta.schema_version`` (None for a store never written)."""
        with self._access.mutex:
            docs = self._db.table(META_TABLE, cache_size=0).all()
        value = docs[0].get("schema_version") if docs else None
        return value if isinstance(value, int) else None

    def _check_schema(self) -> None:
        version = self.schema_version
        if version is None:
            if self.readonly:
                return
            meta = self._db.table(META_TABLE, cache_size=0)
            if len(meta):
                raise StoreError(f"{self.path}: the meta table has no integer schema_version")
            meta.insert({"schema_version": SCHEMA_VERSION})
            return
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} was written by a newer realm (store schema {version}; this realm "
                f"knows up to {SCHEMA_VERSION}). Upgrade realm to open it."
            )
        # version < SCHEMA_VERSION: migrations go here when the layout changes.

    # -- lifecycle ----------------------------------------------------------------------------------

    @property
    def warnings(self) -> list[str]:
        """What was repaired (or could not be) while opening; for the CLI/UI to show."""
        return list(self._storage.warnings)

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Close the file and release the writer lock (idempotent)."""
        if self._closed:
            return
        self._closed = True
        with self._access.mutex:
            self._access.closed = True
        try:
            self._db.close()
        finally:
            if self._lock is not None:
                self._lock.release()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        mode = "read-only" if self.readonly else "writer"
        state = "closed" if self._closed else "open"
        return f"<Store {self.path} {mode} {state}>"


def open_store(where: RealmPaths | Path | str, *, readonly: bool = False) -> Store:
    """Open a realm's store (``saves/realm.json``) or the store file at ``where``."""
    path = where.store_file if isinstance(where, RealmPaths) else Path(where)
    return Store.open(path, readonly=readonly)
