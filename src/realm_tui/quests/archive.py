"""Safe unpacking of quest modules: zip archives and folders, treated as hostile input.

Nothing is written outside the destination folder. Refused: absolute paths, `..`, drive letters
and colons, backslashes, control characters, Windows device names, names too long or too deep,
names that are not UTF-8, duplicate names (also after Unicode normalisation and case folding), a
name that is both a file
and a folder, links (symlink entries; hard links in folders), special files (devices, FIFOs,
sockets: read from the zip's external attributes), encrypted entries, unknown compression, files
of types a module has no use for, more entries than allowed, and more bytes than allowed —
counted on the real decompressed bytes while streaming, never trusted from the headers. Headers
whose sizes cannot be true (a lying-header bomb) are refused before anything is decompressed, and
so is an archive that claims to expand more than `max_ratio` times its own size (a zip bomb: a
few hundred KiB that unpack to hundreds of MiB); the same ratio is enforced on the bytes really
written, so headers that lie about it are caught while extracting.
"""

from __future__ import annotations

import os
import re
import stat
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from realm_tui.errors import InputError
from realm_tui.quests.policy import ArchiveLimits

CHUNK = 1 << 16
RATIO_FLOOR = 1 << 20
"""Below this many unpacked bytes the expansion ratio is not checked (tiny files compress oddly)."""
UTF8_FLAG = 0x800
ALLOWED_SUFFIXES = frozenset({".yaml", ".yml", ".jsonl", ".json", ".md", ".txt", ".csv", ".tsv"})
"""File types a module may carry: data and documentation, never code."""
ALLOWED_BARE_NAMES = frozenset({"LICENSE", "README", "NOTICE", "AUTHORS", "CHANGELOG", "COPYING"})
JUNK_DIRS = frozenset({"__MACOSX"})
WINDOWS_DEVICES = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)
COMPRESSIONS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA})


class UnsafeArchive(InputError):
    """A module archive or folder refused before or while unpacking it."""


@dataclass
class Unpacked:
    """What an unpack wrote (relative POSIX paths) and what it skipped on purpose."""

    files: list[str] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    bytes: int = 0


def _is_junk(parts: list[str]) -> bool:
    return parts[0] in JUNK_DIRS or any(p.startswith(".") for p in parts)


def check_name(name: str, limits: ArchiveLimits, *, is_dir: bool) -> list[str]:
    """The parts of a safe relative member name; ValueError naming what is wrong otherwise."""
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise ValueError("control characters in the name")
    if any("\udc80" <= ch <= "\udcff" for ch in name):  # undecodable bytes (surrogate escapes)
        raise ValueError("the name is not UTF-8 text")
    if "\\" in name:
        raise ValueError("backslash in the name (use / between folders)")
    if name.startswith("/"):
        raise ValueError("absolute path")
    if re.match(r"^[A-Za-z]:", name) or ":" in name:
        raise ValueError("drive letter or colon in the name")
    parts = name.rstrip("/").split("/") if is_dir else name.split("/")
    if any(p == ".." for p in parts):
        raise ValueError("'..' in the path")
    if any(p in ("", ".") for p in parts):
        raise ValueError("empty or '.' path component")
    if len(parts) > limits.max_depth:
        raise ValueError(f"nested deeper than {limits.max_depth} folders")
    for part in parts:
        if len(part) > limits.max_name_length:
            raise ValueError(f"a name longer than {limits.max_name_length} characters")
        if WINDOWS_DEVICES.match(part) or part.endswith((" ", ".")):
            raise ValueError(f"{part!r} is not a portable file name")
    if not is_dir and not _is_junk(parts):
        leaf = parts[-1]
        suffix = Path(leaf).suffix.lower()
        if suffix not in ALLOWED_SUFFIXES and leaf not in ALLOWED_BARE_NAMES:
            allowed = ", ".join(sorted(ALLOWED_SUFFIXES))
            raise ValueError(f"file type not allowed in a module (data and docs only: {allowed})")
    return parts


def _fold(parts: list[str]) -> str:
    return unicodedata.normalize("NFC", "/".join(parts)).casefold()


class _Plan:
    """Checks across all members: counts, duplicates, file/folder clashes."""

    def __init__(self, source: Path, limits: ArchiveLimits) -> None:
        self.source = source
        self.limits = limits
        self.entries = 0
        self.files: dict[str, str] = {}
        self.folders: dict[str, str] = {}

    def refuse(self, name: str, reason: str) -> UnsafeArchive:
        return UnsafeArchive(self.source, f"refused: {name!r}: {reason}")

    def add(self, name: str, parts: list[str], *, is_dir: bool) -> None:
        self.entries += 1
        if self.entries > self.limits.max_entries:
            raise UnsafeArchive(self.source, f"refused: more than {self.limits.max_entries} entries")
        key = _fold(parts)
        if key in self.files or (not is_dir and key in self.folders):
            raise self.refuse(name, "duplicate name (names must differ in more than case)")
        for i in range(1, len(parts)):
            prefix = _fold(parts[:i])
            if prefix in self.files:
                raise self.refuse(name, f"{self.files[prefix]!r} is both a file and a folder")
            self.folders.setdefault(prefix, "/".join(parts[:i]))
        (self.folders if is_dir else self.files)[key] = "/".join(parts)


@dataclass
class _Budget:
    source: Path
    limits: ArchiveLimits
    total: int = 0
    packed_bytes: int | None = None
    """Size of the archive itself: the real bytes written may not exceed `max_ratio` times it."""

    def copy(self, reader: IO[bytes], target: Path, name: str, declared: int | None) -> int:
        """Stream `reader` into a new file `target`, counting real bytes against the limits."""
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
        written = 0
        with os.fdopen(fd, "wb") as out:
            while chunk := reader.read(CHUNK):
                written += len(chunk)
                self.total += len(chunk)
                if declared is not None and written > declared:
                    raise UnsafeArchive(self.source, f"refused: {name!r} holds more bytes than its header says")
                if written > self.limits.max_file_bytes:
                    limit = self.limits.max_file_bytes
                    raise UnsafeArchive(self.source, f"refused: {name!r} is larger than {limit:,} bytes")
                if self.total > self.limits.max_total_bytes:
                    limit = self.limits.max_total_bytes
                    raise UnsafeArchive(self.source, f"refused: more than {limit:,} bytes once unpacked")
                if self.packed_bytes is not None and self.total > max(
                    RATIO_FLOOR, self.limits.max_ratio * self.packed_bytes
                ):
                    raise UnsafeArchive(self.source, _bomb(self.total, self.packed_bytes, self.limits))
                out.write(chunk)
        return written


def _kind(mode: int) -> str | None:
    """What a non-regular file type is called, or None for a regular file or folder."""
    fmt = stat.S_IFMT(mode)
    if fmt in (0, stat.S_IFREG, stat.S_IFDIR):
        return None
    if fmt == stat.S_IFLNK:
        return "a symbolic link"
    return {stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device", stat.S_IFIFO: "a FIFO"}.get(
        fmt, "a special file"
    )


def _check_sizes(plan: _Plan, info: zipfile.ZipInfo) -> None:
    limits = plan.limits
    if info.file_size > limits.max_file_bytes:
        raise plan.refuse(info.filename, f"larger than {limits.max_file_bytes:,} bytes")
    if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
        raise plan.refuse(info.filename, "stored sizes in the header do not match (lying header)")
    if info.compress_size > info.file_size + info.file_size // 10 + 1024:
        raise plan.refuse(info.filename, "compressed size exceeds the size it claims to unpack to (lying header)")
    if info.file_size > limits.max_ratio * max(info.compress_size, 1) and info.file_size > CHUNK:
        raise plan.refuse(info.filename, f"claims to expand more than {limits.max_ratio}× (a zip bomb?)")


def _bomb(unpacked: int, packed: int, limits: ArchiveLimits) -> str:
    return (
        f"refused: {packed:,} bytes of archive unpack to {unpacked:,}, more than {limits.max_ratio}× "
        "(a zip bomb?); max_ratio in configs/quests.yaml (archive:) sets the limit"
    )


def member_name(info: zipfile.ZipInfo) -> str:
    """The member's name as UTF-8 text; ValueError when its bytes are not UTF-8.

    Without the UTF-8 flag, zipfile decodes names as cp437, which turns any bytes into some text:
    the raw bytes are taken back and must be ASCII or UTF-8 (what every current zipper writes)."""
    if info.flag_bits & UTF8_FLAG:
        return info.filename
    raw = info.filename.encode("cp437")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"the name is not UTF-8 text ({raw!r})") from None


def _zip_members(
    zf: zipfile.ZipFile, plan: _Plan, unpacked: Unpacked, packed: int
) -> Iterator[tuple[zipfile.ZipInfo, list[str], bool]]:
    infos = zf.infolist()
    if len(infos) > plan.limits.max_entries:
        raise UnsafeArchive(plan.source, f"refused: {len(infos)} entries, more than {plan.limits.max_entries}")
    declared = sum(i.file_size for i in infos)
    if declared > plan.limits.max_total_bytes:
        raise UnsafeArchive(plan.source, f"refused: would unpack to {declared:,} bytes")
    if declared > max(RATIO_FLOOR, plan.limits.max_ratio * packed):
        raise UnsafeArchive(plan.source, _bomb(declared, packed, plan.limits))
    for info in infos:
        mode = (info.external_attr >> 16) & 0xFFFF
        is_dir = info.is_dir() or stat.S_ISDIR(mode)
        kind = _kind(mode)
        if kind is not None:
            raise plan.refuse(info.filename, f"{kind}; modules hold regular files only")
        if info.flag_bits & 0x1:
            raise plan.refuse(info.filename, "encrypted entry")
        if info.compress_type not in COMPRESSIONS:
            raise plan.refuse(info.filename, f"unsupported compression method {info.compress_type}")
        try:
            parts = check_name(member_name(info), plan.limits, is_dir=is_dir)
        except ValueError as err:
            raise plan.refuse(info.filename, str(err)) from None
        plan.add(info.filename, parts, is_dir=is_dir)
        if _is_junk(parts):
            unpacked.skipped.append("/".join(parts))
            continue
        if not is_dir:
            _check_sizes(plan, info)
        yield info, parts, is_dir


def extract_zip(source: Path, dest: Path, limits: ArchiveLimits) -> Unpacked:
    """Unpack the zip `source` into the empty folder `dest` (see the module doc)."""
    unpacked = Unpacked()
    plan = _Plan(source, limits)
    try:
        packed = source.stat().st_size
        budget = _Budget(source, limits, packed_bytes=packed)
        with zipfile.ZipFile(source) as zf:
            members = list(_zip_members(zf, plan, unpacked, packed))
            for info, parts, is_dir in members:
                target = dest.joinpath(*parts)
                _inside(dest, target, source)
                if is_dir:
                    target.mkdir(parents=True, exist_ok=True)
                    unpacked.folders.append("/".join(parts))
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as reader:
                    budget.copy(reader, target, info.filename, info.file_size)
                unpacked.files.append("/".join(parts))
    except UnsafeArchive:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError) as err:
        raise UnsafeArchive(source, f"not a usable zip archive: {err}") from None
    except OSError as err:
        raise UnsafeArchive(source, f"cannot unpack: {err.strerror or err}") from None
    unpacked.bytes = budget.total
    return unpacked


def copy_folder(source: Path, dest: Path, limits: ArchiveLimits) -> Unpacked:
    """Copy the module folder `source` into the empty folder `dest`, refusing links and specials."""
    unpacked = Unpacked()
    budget = _Budget(source, limits)
    plan = _Plan(source, limits)

    def walk(folder: Path, prefix: list[str]) -> None:
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as err:
            raise UnsafeArchive(folder, f"cannot read: {err.strerror or err}") from None
        for entry in entries:
            name = "/".join([*prefix, entry.name])
            st = entry.stat(follow_symlinks=False)
            is_dir = stat.S_ISDIR(st.st_mode)
            kind = _kind(st.st_mode)
            if kind is not None:
                raise plan.refuse(name, f"{kind}; modules hold regular files only")
            if not is_dir and st.st_nlink > 1:
                raise plan.refuse(name, "a hard link; modules hold regular files only")
            try:
                parts = check_name(name + ("/" if is_dir else ""), limits, is_dir=is_dir)
            except ValueError as err:
                raise plan.refuse(name, str(err)) from None
            if _is_junk(parts):
                unpacked.skipped.append(name)
                continue
            plan.add(name, parts, is_dir=is_dir)
            target = dest.joinpath(*parts)
            _inside(dest, target, source)
            if is_dir:
                target.mkdir()
                unpacked.folders.append(name)
                walk(Path(entry.path), parts)
                continue
            with open(entry.path, "rb") as reader:
                budget.copy(reader, target, name, None)
            unpacked.files.append(name)

    try:
        walk(source, [])
    except UnsafeArchive:
        raise
    except OSError as err:
        raise UnsafeArchive(source, f"cannot copy: {err.strerror or err}") from None
    unpacked.bytes = budget.total
    return unpacked


def _inside(dest: Path, target: Path, source: Path) -> None:
    root = dest.resolve()
    resolved = target.resolve()
    if resolved != root and root not in resolved.parents:
        raise UnsafeArchive(source, f"refused: {target} would land outside {dest}")
