"""Shared machinery of the repositories: record <-> document conversion, locking, write guards."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import ValidationError
from pydantic_core import PydanticSerializationError
from tinydb import TinyDB, where
from tinydb.queries import QueryInstance, QueryLike
from tinydb.table import Table

from realm_tui.errors import StoreError
from realm_tui.store.records import Record, now
from realm_tui.store.storage import SafeJSONStorage

R = TypeVar("R", bound=Record)


def field_is(field: str, value: object) -> QueryInstance:
    """The query ``where(field) == value``, typed: tinydb leaves ``Query.__eq__`` unannotated
    (so mypy sees ``Any``); this one helper holds that gap for every repository."""
    query: QueryInstance = where(field) == value
    return query


def field_is_not(field: str, value: object) -> QueryInstance:
    """The query ``where(field) != value`` (false where the field is missing), typed as above."""
    query: QueryInstance = where(field) != value
    return query


class RecordNotFound(StoreError):
    """No record with that key."""


class DuplicateRecord(StoreError):
    """A record with that key exists already (``add`` never overwrites; ``upsert`` does)."""


class InvalidRecord(StoreError):
    """A stored document does not match its record type (hand-edited or from a broken write)."""


@dataclass
class StoreAccess:
    """What every repository of one open store shares."""

    db: TinyDB
    storage: SafeJSONStorage
    mutex: threading.RLock
    readonly: bool
    closed: bool = False

    def check_open(self) -> None:
        if self.closed:
            raise StoreError(f"{self.storage.path}: the store was closed")


class TableRepository(Generic[R]):
    """Typed access to one TinyDB table: every method returns records, never raw dicts.

    Thread-safe: all repositories of one store share one re-entrant mutex, so a worker thread and
    the UI thread can both use the store. Each method that changes data does exactly one durable
    write (or none).
    """

    table_name: ClassVar[str]
    record_type: type[R]

    def __init__(self, access: StoreAccess) -> None:
        self._access = access
        # cache_size=0: TinyDB's query cache would go stale when another process writes the file.
        self._table: Table = access.db.table(self.table_name, cache_size=0)

    # -- conversion -------------------------------------------------------------------------------

    def _to_record(self, doc: Mapping[str, Any]) -> R:
        # A deep copy: records must never share lists/dicts with the storage's in-memory cache.
        try:
            return self.record_type.model_validate(copy.deepcopy(dict(doc)))
        except ValidationError as err:
            raise InvalidRecord(
                f"{self._access.storage.path}: a record in table {self.table_name!r} is invalid: "
                f"{err.error_count()} problem(s), first: {_first_error(err)}"
            ) from err

    def _to_doc(self, record: R) -> dict[str, Any]:
        if not isinstance(record, self.record_type):
            raise TypeError(
                f"the {self.table_name} table holds {self.record_type.__name__}, not {type(record).__name__}"
            )
        try:
            return record.model_dump(mode="json")
        except PydanticSerializationError as err:
            raise StoreError(
                f"cannot store this {self.record_type.__name__} in {self._access.storage.path}: "
                f"a value cannot be stored as JSON ({err}); nothing was written"
            ) from err

    # -- guards -----------------------------------------------------------------------------------

    @contextmanager
    def _reading(self) -> Iterator[None]:
        with self._access.mutex:
            self._access.check_open()
            yield

    @contextmanager
    def _writing(self) -> Iterator[None]:
        with self._access.mutex:
            self._access.check_open()
            if self._access.readonly:
                raise StoreError(f"{self._access.storage.path} was opened read-only; cannot change {self.table_name}")
            try:
                yield
            except BaseException:
                # TinyDB edits the cached document in place before writing; drop it on any failure.
                self._access.storage.invalidate()
                raise

    # -- common queries ---------------------------------------------------------------------------

    def _search(self, cond: QueryLike) -> list[R]:
        with self._reading():
            return [self._to_record(doc) for doc in self._table.search(cond)]

    def all(self) -> list[R]:
        """Every record, in insertion order."""
        with self._reading():
            return [self._to_record(doc) for doc in self._table.all()]

    def __len__(self) -> int:
        with self._reading():
            return len(self._table)


class KeyedRepository(TableRepository[R]):
    """A table whose records have one natural key field (``id`` unless said otherwise)."""

    key_field: ClassVar[str] = "id"
    touch_field: ClassVar[str | None] = None
    """A time field that ``update`` sets to now unless the caller passes it."""

    def _key_of(self, record: R) -> str:
        return str(getattr(record, self.key_field))

    def _cond(self, key: str) -> QueryLike:
        return field_is(self.key_field, key)

    def get(self, key: str) -> R | None:
        """The record with this key, or None."""
        with self._reading():
            doc = self._table.get(self._cond(key))
            return None if doc is None or isinstance(doc, list) else self._to_record(doc)

    def require(self, key: str) -> R:
        """The record with this key; RecordNotFound (a StoreError) when there is none."""
        record = self.get(key)
        if record is None:
            raise RecordNotFound(f"no {self.record_type.__name__} with {self.key_field} {key!r}")
        return record

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def upsert(self, record: R) -> R:
        """Insert the record, or replace the stored one with the same key."""
        doc = self._to_doc(record)
        with self._writing():
            self._table.upsert(doc, self._cond(self._key_of(record)))
        return record

    def add(self, record: R) -> R:
        """Insert a new record; DuplicateRecord if its key is taken."""
        doc = self._to_doc(record)
        key = self._key_of(record)
        with self._writing():
            if self._table.contains(self._cond(key)):
                raise DuplicateRecord(f"a {self.record_type.__name__} with {self.key_field} {key!r} exists already")
            self._table.insert(doc)
        return record

    def update(self, key: str, **fields: object) -> R:
        """Change some fields of one record (validated: unknown fields or bad values raise)."""
        with self._writing():
            current = self.require(key)
            if self.key_field in fields and fields[self.key_field] != key:
                raise StoreError(f"cannot change the {self.key_field} of {key!r}; add a new record")
            if self.touch_field and self.touch_field not in fields:
                fields[self.touch_field] = now()
            merged = {**current.model_dump(), **fields}
            record = self.record_type.model_validate(merged)
            doc = self._to_doc(record)
            self._table.update(doc, self._cond(key))
            return record

    def remove(self, key: str) -> bool:
        """Delete the record with this key; False when there was none."""
        with self._writing():
            if not self._table.contains(self._cond(key)):
                return False
            self._table.remove(self._cond(key))
            return True

    def keys(self) -> list[str]:
        with self._reading():
            return [str(doc.get(self.key_field)) for doc in self._table.all()]


def _first_error(err: ValidationError) -> str:
    first = err.errors()[0]
    where_ = ".".join(str(p) for p in first.get("loc", ()))
    return f"{where_}: {first.get('msg')}" if where_ else str(first.get("msg"))
