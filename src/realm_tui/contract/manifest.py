"""Checkpoint manifests: sha256 + size of every file. Pure (hashlib/json/os): the parent imports it.

A checkpoint folder is usable only when its `manifest.json` exists, lists at least one weight file,
every listed file stays inside the folder (no `..`, no link) and matches its size and sha256, and
no unlisted weight, pickle or index file (`pytorch_model.bin`, `training_args.bin`,
`model.safetensors.index.json` …) or link lies in it: such a file is never followed or exported.
Folders still being written carry the `.tmp-` prefix and are never read.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from realm_tui.confine import confined
from realm_tui.errors import InputError

MANIFEST = "manifest.json"
TEMP_PREFIX = ".tmp-"
FORMAT = 1
WEIGHT_SUFFIXES = (".safetensors",)
"""What a checkpoint's weights are saved as (safetensors only: nothing else is ever loaded)."""
RISKY_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".h5", ".msgpack", ".gguf", ".npy", ".npz")
"""Weights or pickles that must never sit unlisted in a checkpoint (listed ones are hashed)."""
RISKY_NAMES = (".safetensors", ".index.json", *RISKY_SUFFIXES)


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


def verify_checkpoint(folder: Path, *, allow_temp: bool = False) -> dict[str, Any]:
    """Raise InputError naming the folder and the first problem; return the manifest when the
    checkpoint is whole. `allow_temp` is for the writer re-checking its own temp folder."""
    folder = Path(folder)
    if folder.name.startswith(TEMP_PREFIX) and not allow_temp:
        raise InputError(folder, "not a usable checkpoint: an unfinished save (temporary folder)")
    if folder.is_symlink():
        raise InputError(folder, "not a usable checkpoint: the folder is a link")
    manifest = read_manifest(folder)
    listed = manifest["files"]
    if not any(str(rel).endswith(WEIGHT_SUFFIXES) for rel in listed):
        raise InputError(folder, "checkpoint is damaged: manifest.json lists no weight file")
    for rel, entry in sorted(listed.items()):
        path = confined(folder, rel, source=folder / MANIFEST, what="listed file")
        if path.is_symlink() or not path.is_file():
            raise InputError(folder, f"checkpoint is damaged: {rel} is missing")
        if not isinstance(entry, dict) or path.stat().st_size != entry.get("size"):
            raise InputError(folder, f"checkpoint is damaged: {rel} has the wrong size")
        if sha256_file(path) != entry.get("sha256"):
            raise InputError(folder, f"checkpoint is damaged: {rel} does not match its checksum")
    for stray in unlisted_risky_files(folder, listed):
        raise InputError(folder, f"checkpoint is damaged: {stray} is not in manifest.json (planted?)")
    return manifest


def unlisted_risky_files(folder: Path, listed: dict[str, Any]) -> list[str]:
    """Links, and weight/pickle/index files the manifest does not list (relative POSIX names)."""
    found: list[str] = []
    for here, dirs, files in os.walk(folder):  # does not follow links into other folders
        base = Path(here)
        for name in [*dirs, *files]:
            path = base / name
            rel = path.relative_to(folder).as_posix()
            if path.is_symlink() or (name in files and rel not in listed and name.endswith(RISKY_NAMES)):
                found.append(rel)
    return sorted(found)


def listed_files(folder: Path) -> list[str]:
    """The files of a verified checkpoint (relative POSIX names): what may be read or exported."""
    return sorted(verify_checkpoint(folder)["files"])


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
