"""Crash-safe JSON storage for TinyDB.

Every write serialises the whole document to a string first (a value JSON cannot hold raises before
the disk is touched), writes it to a temp file in the same folder, flushes and fsyncs it, keeps the
previous good file as ``<name>.bak`` (a hard link, or a synced copy where links are not supported),
swaps the temp file in with ``os.replace`` and fsyncs the folder. At every instant the main file or
the backup is a complete document, and a write is durable when :meth:`SafeJSONStorage.write`
returns.

Opening for writing repairs what a crash can leave behind: our own leftover temp files are removed,
a missing main file is restored from the backup, and an unreadable main file is moved aside to
``<name>.corrupt-YYYYmmdd-HHMMSS`` (kept, never deleted) before the backup is restored. Each repair
is reported in :attr:`SafeJSONStorage.warnings` and logged. If neither file is usable, opening
raises :class:`StoreError` naming both: the store never silently starts empty.

A read-only storage never changes anything on disk: it reads the main file, or the backup when the
main file is missing or unreadable (with a warning).
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


def backup_path(path: Path) -> Path:
    """``realm.json`` -> ``realm.json.bak``: the previous good version."""
    return path.with_name(path.name + ".bak")


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
    if not isinstance(data, dict):
        raise _Unreadable(f"the top level is a {type(data).__name__}, not an object")
    for name, table in data.items():
        if not isinstance(table, dict):
            raise _Unreadable(f"table {name!r} is a {type(table).__name__}, not an object")
    return data


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
        with open(path, "rb") as fh:
            key = _stat_key(os.fstat(fh.fileno()))
            raw = fh.read()
        return parse_document(raw), key

    def _load(self) -> JsonTables | None:
        try:
            data, key = self._read_file(self.path)
        except FileNotFoundError:
            data, key = None, None
            problem = "is missing"
        except _Unreadable as err:
            data, key = None, None
            problem = f"cannot be read: {err}"
        if data is not None:
            self._cache, self._cache_key = data, key
            return data
        if not self.readonly:
            if problem == "is missing" and not backup_path(self.path).exists():
                return None
            raise StoreError(
                f"{self.path} {problem} (it changed on disk while realm had it open); "
                "close realm and open it again to recover from the backup"
            )
        return self._load_backup_readonly(problem)

    def _load_backup_readonly(self, problem: str) -> JsonTables | None:
        bak = backup_path(self.path)
        try:
            data, _ = self._read_file(bak)
        except FileNotFoundError:
            if problem == "is missing":
                return None
            raise StoreError(f"{self.path} {problem}, and there is no backup {bak}") from None
        except _Unreadable as err:
            raise StoreError(f"{self.path} {problem}, and the backup {bak} cannot be read either: {err}") from None
        message = f"{self.path} {problem}; showing the backup {bak} (read-only, nothing repaired)"
        if message not in self.warnings:
            self._warn(message)
        self.invalidate()  # always look at the main file again: a writer may repair it
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

    def _file_mode(self) -> int:
        try:
            return os.stat(self.path).st_mode & 0o777
        except OSError:
            return 0o644

    def _backup_current(self) -> None:
        """Make ``.bak`` the current (complete, already synced) main file before it is replaced."""
        bak = backup_path(self.path)
        link_name = self.path.with_name(f"{temp_prefix(self.path)}{secrets.token_hex(8)}.bak{TEMP_SUFFIX}")
        try:
            os.link(self.path, link_name)
        except OSError:  # no hard links here (or a name clash): a synced copy does the same job
            self._copy_synced(self.path, bak)
            return
        try:
            os.replace(link_name, bak)
        except BaseException:
            with contextlib.suppress(OSError):
                link_name.unlink()
            raise

    def _copy_synced(self, source: Path, target: Path) -> None:
        """Copy ``source`` over ``target`` atomically: temp copy, fsync, replace, fsync folder."""
        fd, tmp_name = tempfile.mkstemp(prefix=temp_prefix(self.path), suffix=TEMP_SUFFIX, dir=target.parent)
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

    # -- recovery at open (writer only; the caller holds the lock) ------------------------------

    def _recover(self) -> None:
        for leftover in leftover_temp_files(self.path):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
            log.info("removed leftover temp file %s", leftover)
        bak = backup_path(self.path)
        try:
            data, key = self._read_file(self.path)
        except FileNotFoundError:
            if not bak.exists():
                return  # a new store
            self._restore_backup(problem="was missing")
            return
        except _Unreadable as err:
            self._quarantine_and_restore(str(err))
            return
        self._cache, self._cache_key = data, key

    def _check_backup(self, problem: str) -> None:
        bak = backup_path(self.path)
        try:
            self._read_file(bak)
        except FileNotFoundError:
            raise StoreError(
                f"{self.path} {problem}, and there is no backup {bak}: nothing to recover from. "
                "Restore one of them from a copy, or move both aside to start a new store."
            ) from None
        except _Unreadable as err:
            raise StoreError(
                f"{self.path} {problem}, and the backup {bak} cannot be read either ({err}). "
                "Restore one of them from a copy, or move both aside to start a new store."
            ) from None

    def _restore_backup(self, problem: str) -> None:
        self._check_backup(problem)
        bak = backup_path(self.path)
        self._copy_synced(bak, self.path)
        self._warn(f"{self.path} {problem}; restored it from the backup {bak}")

    def _quarantine_and_restore(self, reason: str) -> None:
        problem = f"could not be read ({reason})"
        self._check_backup(problem)
        aside = corrupt_path(self.path)
        os.replace(self.path, aside)
        fsync_dir(self.path.parent)
        bak = backup_path(self.path)
        self._copy_synced(bak, self.path)
        self._warn(
            f"{self.path} {problem}; kept it as {aside.name} and restored the backup {bak.name} "
            "(changes after the backup was made are lost)"
        )
