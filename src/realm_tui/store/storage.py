"""Crash-safe JSON storage for TinyDB.

Every write serialises the whole document to a string first (a value JSON cannot hold raises before
the disk is touched), writes it to a temp file in the same folder, flushes and fsyncs it, keeps the
previous good file as ``<name>.bak`` (a hard link, or a synced copy where links are not supported),
swaps the temp file in with ``os.replace`` and fsyncs the folder. At every instant the main file or
the backup is a complete document, and a write is durable when :meth:`SafeJSONStorage.write`
returns.

Besides ``.bak``, every write also keeps the document it commits in ``backups/`` beside the store
(``backups/realm.json.YYYYmmdd-HHMMSS.ffffff``, files of their own, the newest
:data:`GENERATIONS_KEPT`): one bad write (or damage to the main file in place) can reach the main
file and ``.bak`` at most, never those generations, and the newest of them is the last commit. Only a
document that passes :func:`check_document` (a ``meta`` table with an integer ``schema_version``,
TinyDB-shaped tables) is ever written, backed up or read: ``{}``, garbage, a truncated file or a
folder is *refused* with a :class:`StoreError` naming the file, by writers and readers alike, and
nothing on disk is changed (``realm doctor --repair`` restores the newest good version, see
:mod:`realm_tui.store.repair`). The store never silently starts empty.

Opening for writing repairs only what a crash can leave behind: our own leftover temp files are
removed, and a missing main file is restored from the newest good backup (reported in
:attr:`SafeJSONStorage.warnings` and logged).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tinydb.storages import Storage

from realm_tui.errors import StoreError

log = logging.getLogger("realm_tui.store")

JsonTables = dict[str, dict[str, Any]]

#: Test hook: called with a stage name at each step of a write ("tmp_synced", "backup_made",
#: "replaced"). Crash tests set it in a child process to ``os._exit`` at a chosen stage.
_crash_hook: Callable[[str], None] | None = None

TEMP_SUFFIX = ".tmp"
GENERATIONS_DIR = "backups"
GENERATIONS_KEPT = 5
"""Versions kept in ``backups/`` (the newest first is also ``.bak``)."""
REPAIR_HINT = "nothing was changed; run `realm doctor --repair` to restore the newest good backup"


def backup_path(path: Path) -> Path:
    """``realm.json`` -> ``realm.json.bak``: the previous good version."""
    return path.with_name(path.name + ".bak")


def generations_dir(path: Path) -> Path:
    """``saves/realm.json`` -> ``saves/backups``: where older good versions are kept."""
    return path.parent / GENERATIONS_DIR


def generations(path: Path) -> list[Path]:
    """The kept versions of ``path`` in ``backups/``, newest first."""
    folder = generations_dir(path)
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    prefix = f"{path.name}."
    found = [folder / n for n in names if n.startswith(prefix) and not n.endswith(TEMP_SUFFIX)]
    return sorted(found, key=lambda p: p.name, reverse=True)


def temp_prefix(path: Path) -> str:
    """Our temp files are ``.<name>.<random>.tmp`` next to the store; nothing else matches."""
    return f".{path.name}."


def corrupt_path(path: Path, when: float | None = None) -> Path:
    """A free ``<name>.corrupt-YYYYmmdd-HHMMSS[-N]`` name to keep an unreadable file under."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(time.time() if when is None else when))
    candidate = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
        n += 1
    return candidate


def leftover_temp_files(path: Path) -> list[Path]:
    """Temp files a crashed writer of ``path`` left behind (our own name pattern only)."""
    prefix = temp_prefix(path)
    try:
        names = os.listdir(path.parent)
    except FileNotFoundError:
        return []
    return sorted(path.parent / n for n in names if n.startswith(prefix) and n.endswith(TEMP_SUFFIX))


def fsync_dir(folder: Path) -> None:
    """Make renames and links inside ``folder`` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse fsync on folders
        pass
    finally:
        os.close(fd)


def _run_hook(stage: str) -> None:
    if _crash_hook is not None:
        _crash_hook(stage)


class _Unreadable(Exception):
    """A store file that exists but does not hold a valid document."""


def parse_document(raw: bytes) -> JsonTables:
    """Parse a whole store file; raise :class:`_Unreadable` with the reason when it is not valid."""
    if not raw.strip():
        raise _Unreadable("the file is empty")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as err:  # JSONDecodeError and UnicodeDecodeError
        raise _Unreadable(f"not valid JSON ({err})") from err
    return check_document(data)


def check_document(data: Any) -> JsonTables:
    """Raise :class:`_Unreadable` unless ``data`` is a realm store: an object of TinyDB tables
    (objects of numbered documents) holding a ``meta`` table with an integer ``schema_version``."""
    if not isinstance(data, dict):
        raise _Unreadable(f"the top level is a {type(data).__name__}, not an object")
    for name, table in data.items():
        if not isinstance(table, dict):
            raise _Unreadable(f"table {name!r} is a {type(table).__name__}, not an object")
        for doc_id, doc in table.items():
            if not (isinstance(doc_id, str) and doc_id.isdigit()) or not isinstance(doc, dict):
                raise _Unreadable(f"table {name!r} holds {doc_id!r}, not a numbered record")
    meta = data.get("meta")
    if not meta:
        raise _Unreadable("it has no meta table (schema_version): not a realm store, or its contents were wiped")
    versions = [doc.get("schema_version") for doc in meta.values()]
    if len(versions) != 1 or not isinstance(versions[0], int) or isinstance(versions[0], bool):
        raise _Unreadable(f"its meta table does not hold one integer schema_version (found {versions!r})")
    return data


def read_document(path: Path) -> JsonTables:
    """Read and check one store file; FileNotFoundError if absent, :class:`Unreadable` if not usable."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        raise
    except IsADirectoryError:
        raise _Unreadable("it is a folder, not a file") from None
    except OSError as err:
        raise _Unreadable(f"it cannot be opened ({err.strerror or err})") from err
    return parse_document(raw)


Unreadable = _Unreadable
"""Public name of the error :func:`read_document` raises (the reason is its message)."""


def _stat_key(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


class SafeJSONStorage(Storage):
    """TinyDB storage over one JSON file with atomic, durable writes and crash recovery.

    The last document read or written is kept in memory and handed out again while the file's
    identity (device, inode, size, mtime) is unchanged, so reads do not re-parse the file.
    TinyDB mutates what :meth:`read` returns while it prepares a write; a failed write therefore
    drops the cached copy so the next read comes from disk.
    """

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        super().__init__()
        self.path = Path(path)
        self.readonly = readonly
        self.warnings: list[str] = []
        self._cache: JsonTables | None = None
        self._cache_key: tuple[int, int, int, int] | None = None
        if not readonly:
            self._recover()

    # -- TinyDB interface -------------------------------------------------------------------------

    def read(self) -> JsonTables | None:
        try:
            key = _stat_key(os.stat(self.path))
        except FileNotFoundError:
            key = None
        if key is not None and key == self._cache_key and self._cache is not None:
            return self._cache
        return self._load()

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        if self.readonly:
            self.invalidate()
            raise StoreError(f"{self.path} was opened read-only; it cannot be written")
        try:
            check_document(data)
        except _Unreadable as err:
            self.invalidate()
            raise StoreError(f"refusing to write {self.path}: {err}; the file was left unchanged") from None
        try:
            payload = json.dumps(data, ensure_ascii=False).encode("utf-8")
        except (TypeError, ValueError, RecursionError) as err:
            self.invalidate()
            raise StoreError(
                f"cannot write {self.path}: a value cannot be stored as JSON ({err}); the file was left unchanged"
            ) from err
        try:
            self._replace_with(payload)
        except OSError as err:
            self.invalidate()
            raise StoreError(f"cannot write {self.path}: {err.strerror or err}; the previous version is kept") from err
        except BaseException:
            self.invalidate()
            raise
        self._cache = data
        try:
            self._cache_key = _stat_key(os.stat(self.path))
        except OSError:  # pragma: no cover - the file was just written
            self._cache_key = None

    def close(self) -> None:
        self.invalidate()

    # -- helpers ----------------------------------------------------------------------------------

    def invalidate(self) -> None:
        """Forget the in-memory copy; the next read parses the file again."""
        self._cache = None
        self._cache_key = None

    def _warn(self, message: str) -> None:
        self.warnings.append(message)
        log.warning(message)

    def _read_file(self, path: Path) -> tuple[JsonTables, tuple[int, int, int, int]]:
        """Read and parse one file; FileNotFoundError if absent, _Unreadable if not valid."""
        try:
            with open(path, "rb") as fh:
                key = _stat_key(os.fstat(fh.fileno()))
                raw = fh.read()
        except FileNotFoundError:
            raise
        except IsADirectoryError:
            raise _Unreadable("it is a folder, not a file") from None
        except OSError as err:
            raise _Unreadable(f"it cannot be opened ({err.strerror or err})") from err
        return parse_document(raw), key

    def _load(self) -> JsonTables | None:
        try:
            data, key = self._read_file(self.path)
        except FileNotFoundError:
            if not backup_path(self.path).exists() and not generations(self.path):
                return None  # a store never written (a reader of a missing file sees it empty)
            if self.readonly:  # backups exist: this is not a new store, so never show it empty
                raise refusal(self.path, "it is missing but its backups exist") from None
            raise StoreError(
                f"{self.path} is missing (it changed on disk while realm had it open); "
                "close realm and open it again to recover from the backup"
            ) from None
        except _Unreadable as err:
            raise refusal(self.path, str(err)) from None
        self._cache, self._cache_key = data, key
        return data

    def _replace_with(self, payload: bytes) -> None:
        folder = self.path.parent
        fd, tmp_name = tempfile.mkstemp(prefix=temp_prefix(self.path), suffix=TEMP_SUFFIX, dir=folder)
        tmp = Path(tmp_name)
        try:
            with contextlib.suppress(OSError):  # keep the file's permissions (mkstemp makes 0600)
                os.fchmod(fd, self._file_mode())
            with os.fdopen(fd, "wb") as fh:
                fh.write(payload)
                fh.flush()
                os.fsync(fh.fileno())
            _run_hook("tmp_synced")
            if self.path.exists():
                self._backup_current()
            _run_hook("backup_made")
            os.replace(tmp, self.path)
            _run_hook("replaced")
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        fsync_dir(folder)
        self._add_generation(payload)

    def _file_mode(self) -> int:
        try:
            return os.stat(self.path).st_mode & 0o777
        except OSError:
            return 0o644

    def _backup_current(self) -> None:
        """Make ``.bak`` (and a new generation in ``backups/``) the current main file before it is
        replaced, but only when that file is a good document: a bad state is never backed up."""
        if not self._current_is_good():
            log.warning("%s does not hold a good document: the backups were left as they are", self.path)
            return
        bak = backup_path(self.path)
        link_name = self.path.with_name(f"{temp_prefix(self.path)}{secrets.token_hex(8)}.bak{TEMP_SUFFIX}")
        try:
            os.link(self.path, link_name)
        except OSError:  # no hard links here (or a name clash): a synced copy does the same job
            self._copy_synced(self.path, bak)
        else:
            try:
                os.replace(link_name, bak)
            except BaseException:
                with contextlib.suppress(OSError):
                    link_name.unlink()
                raise

    def _current_is_good(self) -> bool:
        """The main file is the document we read (and checked) last, or it checks out now."""
        try:
            if self._cache_key is not None and _stat_key(os.stat(self.path)) == self._cache_key:
                return True
            self._read_file(self.path)
        except (OSError, _Unreadable):
            return False
        return True

    def _add_generation(self, payload: bytes) -> None:
        """Keep the document just committed in ``backups/`` as a file of its own (not a link: damage
        to the main file in place cannot reach it) and drop the oldest beyond GENERATIONS_KEPT."""
        folder = generations_dir(self.path)
        try:
            folder.mkdir(exist_ok=True)
            now_s = time.time()
            stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now_s)) + f".{int(now_s * 1e6) % 1_000_000:06d}"
            target = folder / f"{self.path.name}.{stamp}"
            n = 1
            while target.exists():
                target = folder / f"{self.path.name}.{stamp}-{n}"
                n += 1
            fd, tmp_name = tempfile.mkstemp(prefix=temp_prefix(self.path), suffix=TEMP_SUFFIX, dir=folder)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(payload)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp_name, target)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp_name)
                raise
            for old in generations(self.path)[GENERATIONS_KEPT:]:
                old.unlink(missing_ok=True)
            fsync_dir(folder)
        except OSError as err:  # the main file holds the commit already; say so and go on
            log.warning("could not keep a backup generation of %s in %s: %s", self.path, folder, err)
        _run_hook("generation_made")

    def _copy_synced(self, source: Path, target: Path) -> None:
        copy_synced(source, target, temp_prefix(self.path))

    # -- recovery at open (writer only; the caller holds the lock) ------------------------------

    def _recover(self) -> None:
        in_backups = generations_dir(self.path) / self.path.name
        for leftover in leftover_temp_files(self.path) + leftover_temp_files(in_backups):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
            log.info("removed leftover temp file %s", leftover)
        try:
            data, key = self._read_file(self.path)
        except FileNotFoundError:
            if not backup_path(self.path).exists() and not generations(self.path):
                return  # a new store
            self._restore_missing()
            return
        except _Unreadable as err:
            raise refusal(self.path, str(err)) from None
        self._cache, self._cache_key = data, key

    def _restore_missing(self) -> None:
        source = newest_good_backup(self.path)
        if source is None:
            raise StoreError(
                f"{self.path} is missing and no backup of it can be read ({backup_path(self.path)}, "
                f"{generations_dir(self.path)}/): nothing to recover from. Restore one from a copy, "
                "or move them aside to start a new store."
            )
        self._copy_synced(source, self.path)
        self._warn(f"{self.path} was missing; restored it from the backup {source}")


def copy_synced(source: Path, target: Path, prefix: str) -> None:
    """Copy ``source`` over ``target`` atomically: temp copy, fsync, replace, fsync folder."""
    fd, tmp_name = tempfile.mkstemp(prefix=prefix, suffix=TEMP_SUFFIX, dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            shutil.copyfileobj(src, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_dir(target.parent)


def refusal(path: Path, reason: str) -> StoreError:
    """The one message for a store file that exists but cannot be used."""
    return StoreError(f"{path} cannot be used: {reason}; {REPAIR_HINT}")


def newest_good_backup(path: Path) -> Path | None:
    """The newest generation in ``backups/`` (the last commit) that reads as a good document, else
    ``.bak`` (the version before the last commit, kept by realms older than ``backups/``)."""
    for candidate in [*generations(path), backup_path(path)]:
        try:
            read_document(candidate)
        except (FileNotFoundError, _Unreadable):
            continue
        return candidate
    return None
