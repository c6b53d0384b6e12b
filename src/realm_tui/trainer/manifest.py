"""Checkpoint manifests: sha256 + size of every file. Pure (hashlib/json/os): the parent imports it.

A checkpoint folder is usable only when its `manifest.json` exists and every listed file matches;
folders still being written carry the `.tmp-` prefix and are never read.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from realm_tui.errors import InputError

MANIFEST = "manifest.json"
TEMP_PREFIX = ".tmp-"
FORMAT = 1


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def fsync_dir(path: Path) -> None:
    """Make a rename or a new entry durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse fsync on directories; the data files are synced already
    finally:
        os.close(fd)


def write_manifest(folder: Path, meta: dict[str, Any]) -> dict[str, Any]:
    """Hash every file in `folder` (fsync'ing each) and write `manifest.json` with `meta` merged in."""
    folder = Path(folder)
    files: dict[str, dict[str, Any]] = {}
    for path in _files(folder):
        _fsync_file(path)
        files[path.relative_to(folder).as_posix()] = {"sha256": sha256_file(path), "size": path.stat().st_size}
    manifest = {"format": FORMAT, "created_at": time.time(), **meta, "files": files}
    target = folder / MANIFEST
    with open(target, "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=2, sort_keys=True)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    fsync_dir(folder)
    return manifest


def read_manifest(folder: Path) -> dict[str, Any]:
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(folder, "checkpoint folder not found")
    path = folder / MANIFEST
    if not path.is_file():
        raise InputError(folder, "not a usable checkpoint: manifest.json is missing (an interrupted save?)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise InputError(folder, f"not a usable checkpoint: manifest.json cannot be read ({err})") from err
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise InputError(folder, "not a usable checkpoint: manifest.json has no file list")
    return manifest


def verify_checkpoint(folder: Path, *, allow_temp: bool = False) -> None:
    """Raise InputError naming the folder and the first file that is missing or does not match.
    `allow_temp` is for the writer re-checking its own temp folder before the rename."""
    folder = Path(folder)
    if folder.name.startswith(TEMP_PREFIX) and not allow_temp:
        raise InputError(folder, "not a usable checkpoint: an unfinished save (temporary folder)")
    manifest = read_manifest(folder)
    for rel, entry in sorted(manifest["files"].items()):
        path = folder / rel
        if not path.is_file():
            raise InputError(folder, f"checkpoint is damaged: {rel} is missing")
        if path.stat().st_size != entry.get("size"):
            raise InputError(folder, f"checkpoint is damaged: {rel} has the wrong size")
        if sha256_file(path) != entry.get("sha256"):
            raise InputError(folder, f"checkpoint is damaged: {rel} does not match its checksum")


def is_valid_checkpoint(folder: Path) -> bool:
    try:
        verify_checkpoint(folder)
    except InputError:
        return False
    return True


def manifest_size(folder: Path) -> int:
    return sum(int(e.get("size", 0)) for e in read_manifest(folder)["files"].values())


def cleanup_temp_checkpoints(parent: Path) -> list[Path]:
    """Remove leftovers of interrupted saves (`.tmp-*` folders) in a checkpoints folder."""
    parent = Path(parent)
    removed: list[Path] = []
    if not parent.is_dir():
        return removed
    for entry in sorted(parent.iterdir()):
        if entry.name.startswith(TEMP_PREFIX):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed
