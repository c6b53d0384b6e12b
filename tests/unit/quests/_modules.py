"""Builders of module folders and (hostile) module archives for the module tests."""

from __future__ import annotations

import io
import stat
import struct
import zipfile
from pathlib import Path
from typing import Any

import yaml

from ._helpers import good_lines

Entry = tuple[str | zipfile.ZipInfo, bytes]


def manifest(module_id: str = "mini", version: str = "1.0.0", **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": module_id,
        "name": "Mini drills",
        "version": version,
        "author": "tests",
        "license": "CC0-1.0",
        "primitives": {"required": ["seq_continue"]},
        "skills": [{"id": "mini", "levels": [1], "max_level": 3}],
        "data": [{"path": "data/level1.jsonl", "skill_level": 1, "examples": 3}],
        "evaluation": {"sets": [{"path": "eval/level1.jsonl", "skill_level": 1, "examples": 2}]},
    }
    data.update(overrides)
    return data


def module_files(module_id: str = "mini", version: str = "1.0.0", **overrides: Any) -> dict[str, bytes]:
    """Relative path -> bytes of a small valid module."""
    return {
        "manifest.yaml": yaml.safe_dump(manifest(module_id, version, **overrides)).encode(),
        "data/level1.jsonl": ("\n".join(good_lines(3, f"train {version}")) + "\n").encode(),
        "eval/level1.jsonl": ("\n".join(good_lines(2, "eval")) + "\n").encode(),
        "README.md": b"# mini\n",
    }


def module_folder(root: Path, module_id: str = "mini", version: str = "1.0.0", **overrides: Any) -> Path:
    for rel, data in module_files(module_id, version, **overrides).items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


def info(name: str, mode: int | None = None, compress: int = zipfile.ZIP_DEFLATED) -> zipfile.ZipInfo:
    entry = zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0))
    entry.compress_type = compress
    if mode is not None:
        entry.external_attr = mode << 16
        entry.create_system = 3
    return entry


def make_zip(path: Path, entries: list[Entry], *, base: dict[str, bytes] | None = None) -> Path:
    """A zip of a valid module (`base`, default: module_files()) plus `entries`."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for rel, data in (module_files() if base is None else base).items():
            zf.writestr(info(rel), data)
        for name, data in entries:
            zf.writestr(name if isinstance(name, zipfile.ZipInfo) else info(name), data)
    path.write_bytes(buf.getvalue())
    return path


def symlink_entry(name: str, target: str) -> Entry:
    return info(name, stat.S_IFLNK | 0o777), target.encode()


def special_entry(name: str, kind: int) -> Entry:
    return info(name, kind | 0o644), b""


def lying_bomb(path: Path, real_bytes: int = 5_000_000, claimed: int = 1000) -> Path:
    """A module zip whose data entry unpacks to `real_bytes` while its headers claim `claimed`."""
    base = module_files()
    base["data/level1.jsonl"] = b"0" * real_bytes
    make_zip(path, [], base=base)
    raw = bytearray(path.read_bytes())
    name = b"data/level1.jsonl"
    central = raw.find(b"PK\x01\x02")
    while central != -1:  # patch the uncompressed size in every header naming the entry
        if raw[central + 46 : central + 46 + len(name)] == name:
            struct.pack_into("<I", raw, central + 24, claimed)
        central = raw.find(b"PK\x01\x02", central + 4)
    local = raw.find(b"PK\x03\x04")
    while local != -1:
        if raw[local + 30 : local + 30 + len(name)] == name:
            struct.pack_into("<I", raw, local + 22, claimed)
        local = raw.find(b"PK\x03\x04", local + 4)
    path.write_bytes(bytes(raw))
    return path
