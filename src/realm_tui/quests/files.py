"""File moves on the board: never overwrite, never delete what the user dropped.

A destination name is reserved by creating it exclusively (`O_EXCL`), then the file is moved over
its own placeholder with `os.replace`: two movers can never pick the same name, and an existing
file is never replaced. A taken name gets a suffix: `quest.jsonl`, `quest-1.jsonl`, `quest-2.jsonl`…
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import time
import uuid
from pathlib import Path

TEMP_SUFFIXES = (".part", ".partial", ".tmp", ".temp", ".crdownload", ".download", ".swp", ".swx", ".lock", "~")
"""Names of files still being written by a browser, an editor or a copy tool."""
OUR_TEMP_PREFIX = ".realm-"
"""Prefix of the temporary files the board itself writes (dotfiles: every scan skips them)."""
STALE_TEMP_SECONDS = 3600.0
MAX_SUFFIX = 100_000
MAX_STEM_BYTES = 200
"""Longest stem (UTF-8 bytes) of a name the board writes: room for `-N`, the extension and
`.report.txt` within the 255 bytes most file systems allow in one name."""
MAX_EXTENSION_BYTES = 16
"""A longer "extension" is part of the stem (a name like `notes.` + 250 characters)."""


def safe_name(name: str) -> str:
    """`name` as valid UTF-8 text: bytes that are not UTF-8 (surrogate escapes) become U+FFFD.

    A store record must be UTF-8; a file dropped with a Latin-1 or binary name keeps its bytes in
    the file, not in its name."""
    try:
        raw = name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate that no file system handed us
        raw = name.encode("utf-8", "replace")
    return raw.decode("utf-8", "replace")


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def shorten(text: str, max_bytes: int) -> str:
    """`text` cut to at most `max_bytes` UTF-8 bytes, never inside a character."""
    if _utf8_len(text) <= max_bytes:
        return text
    text = text[:max_bytes]
    while _utf8_len(text) > max_bytes:
        text = text[:-1]
    return text


def fit_name(name: str, max_stem_bytes: int = MAX_STEM_BYTES) -> str:
    """`name` with its stem cut to `max_stem_bytes` (the extension kept)."""
    suffix = Path(name).suffix
    if _utf8_len(suffix) > MAX_EXTENSION_BYTES:
        suffix = ""
    stem = name[: len(name) - len(suffix)]
    return shorten(stem, max_stem_bytes) + suffix


def is_in_progress(name: str) -> bool:
    """A name the board must not pick up: dotfiles, editor backups and temp/partial downloads."""
    lower = name.lower()
    return name.startswith((".", "~", "#")) or lower.endswith(TEMP_SUFFIXES)


def _suffixed(name: str, n: int) -> str:
    path = Path(name)
    return f"{path.stem}-{n}{path.suffix}" if n else name


def reserve(folder: Path, name: str) -> Path:
    """Create an empty placeholder at the first free name in `folder` and return it.

    A stem longer than `MAX_STEM_BYTES` is cut, so a suffixed name still fits the file system."""
    folder.mkdir(parents=True, exist_ok=True)
    name = fit_name(name)
    for n in range(MAX_SUFFIX):
        target = folder / _suffixed(name, n)
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            continue
        os.close(fd)
        return target
    raise OSError(errno.EEXIST, f"no free name for {name} in {folder}")


def _release(placeholder: Path) -> None:
    with contextlib.suppress(OSError):
        if placeholder.stat().st_size == 0:
            placeholder.unlink()


def move_unique(src: Path, folder: Path, name: str | None = None) -> Path:
    """Move `src` into `folder` (as `name`, suffixed if taken); returns where it went.

    A file already directly in `folder` under its wanted name stays where it is.
    """
    name = name or src.name
    if src.parent == folder and src.name == name:
        return src
    target = reserve(folder, name)
    try:
        os.replace(src, target)
    except OSError as err:
        if err.errno != errno.EXDEV or src.is_symlink() or not src.is_file():
            _release(target)
            raise
        # A folder of the realm on another file system: copy, flush, then drop the source.
        shutil.copyfile(src, target)
        with target.open("rb+") as fh:
            os.fsync(fh.fileno())
        src.unlink()
    return target


def temp_path(folder: Path, hint: str) -> Path:
    """A fresh name for a temporary file of ours in `folder` (a dotfile every scan skips)."""
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{OUR_TEMP_PREFIX}{uuid.uuid4().hex[:12]}-{hint[:40]}.part"


def fsync_file(path: Path) -> None:
    with path.open("rb+") as fh:
        os.fsync(fh.fileno())


def install_unique(tmp: Path, folder: Path, name: str) -> Path:
    """Move our finished temp file `tmp` to `folder/name` (suffixed if taken)."""
    fsync_file(tmp)
    return move_unique(tmp, folder, name)


def clean_stale_temps(folders: list[Path], now: float | None = None) -> int:
    """Remove our own leftover temp files (from a crash) older than an hour; returns how many."""
    now = time.time() if now is None else now
    removed = 0
    for folder in folders:
        with contextlib.suppress(OSError):
            for entry in os.scandir(folder):
                if not entry.name.startswith(OUR_TEMP_PREFIX) or not entry.is_file(follow_symlinks=False):
                    continue
                with contextlib.suppress(OSError):
                    if now - entry.stat(follow_symlinks=False).st_mtime > STALE_TEMP_SECONDS:
                        os.unlink(entry.path)
                        removed += 1
    return removed


def relative(root: Path, path: Path) -> str:
    """`path` relative to `root`, with POSIX separators (as stored in records)."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes (read in chunks)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
