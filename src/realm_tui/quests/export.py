"""Writing quest modules: a folder from example lists, a zip from a folder, a module from a skill."""

from __future__ import annotations

import json
import os
import re
import tempfile
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from realm_tui.config.common import SLUG_PATTERN
from realm_tui.errors import InputError, RealmError
from realm_tui.quests.content import example_key
from realm_tui.quests.manifest import MANIFEST_NAME, ModuleManifest
from realm_tui.quests.modules import check_module

Example = dict[str, Any]
FIXED_DATE = (2024, 1, 1, 0, 0, 0)
"""Zip entry time: exported archives are byte-identical for the same content."""


def dedupe(examples: Iterable[Example]) -> list[Example]:
    """Examples without exact repeats (same roles and contents), first occurrence kept."""
    seen: set[bytes] = set()
    out = []
    for example in examples:
        key = example_key(example["messages"])
        if key not in seen:
            seen.add(key)
            out.append(example)
    return out


def write_jsonl(path: Path, examples: Iterable[Example]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for example in examples:
            fh.write(json.dumps(example, ensure_ascii=False) + "\n")
            count += 1
    return count


def write_module_folder(
    folder: Path, manifest: Mapping[str, Any], files: Mapping[str, Sequence[Example]], readme: str | None = None
) -> ModuleManifest:
    """Write `manifest.yaml`, every JSONL file and a README into `folder`; check the result."""
    folder.mkdir(parents=True, exist_ok=True)
    for rel, examples in files.items():
        write_jsonl(folder / rel, examples)
    text = yaml.safe_dump(dict(manifest), sort_keys=False, allow_unicode=True, width=100)
    (folder / MANIFEST_NAME).write_text(text, encoding="utf-8")
    if readme is not None:
        (folder / "README.md").write_text(readme, encoding="utf-8")
    check = check_module(folder)
    if not check.ok or check.manifest is None:
        raise RealmError(f"{folder}: the module written is not valid:\n{check.summary()}")
    return check.manifest


def zip_folder(folder: Path, output: Path) -> Path:
    """Zip `folder`'s files (regular files only, sorted, fixed times) into `output`, atomically."""
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
                info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), FIXED_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o100644 << 16
                zf.writestr(info, path.read_bytes())
        os.replace(tmp, output)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return output


def export_skill(
    skill_id: str,
    output: Path,
    *,
    levels: Sequence[int],
    count: int,
    eval_count: int,
    module_id: str | None = None,
    version: str = "1.0.0",
    author: str = "realm export",
    license: str = "CC0-1.0",
    force: bool = False,
) -> ModuleManifest:
    """Package generated data of a skill as a module zip: data and held-out eval per level."""
    output = Path(output)
    if output.exists() and not force:
        raise InputError(output, "exists already; pass --force to overwrite it")
    if module_id is not None and not re.match(SLUG_PATTERN, module_id):
        raise InputError(None, f"module id {module_id!r}: use lower-case letters, digits, - and _")
    if not levels or count < 1 or eval_count < 1:
        raise InputError(None, "export needs at least one level, --count >= 1 and --eval-count >= 1")
    from realm_tui.skills import get_skill, heldout_eval_set, training_batch

    try:
        skill = get_skill(skill_id)
    except KeyError as err:
        raise InputError(None, str(err.args[0]) if err.args else f"unknown skill {skill_id!r}") from None
    bad = [lv for lv in levels if not 1 <= lv <= skill.max_level]
    if bad:
        raise InputError(None, f"skill {skill_id} has levels 1..{skill.max_level}, not {bad[0]}")
    files: dict[str, list[Example]] = {}
    data, sets = [], []
    for level in sorted(set(levels)):
        try:
            train = dedupe({"messages": p.messages()} for p in training_batch(skill, level, count, 0))
            held = dedupe({"messages": p.messages()} for p in heldout_eval_set(skill, level, min(eval_count, 100)))
        except (ValueError, RuntimeError) as err:
            raise InputError(None, f"skill {skill_id} level {level}: could not generate: {err}") from None
        files[f"data/level{level}.jsonl"], files[f"eval/level{level}.jsonl"] = train, held
        data.append({"path": f"data/level{level}.jsonl", "skill_level": level, "examples": len(train)})
        sets.append({"path": f"eval/level{level}.jsonl", "skill_level": level, "examples": len(held)})
    threshold = float(getattr(skill.config, "threshold", 0.8))
    manifest = {
        "id": module_id or f"{skill_id}-pack",
        "name": f"{getattr(skill.config, 'name', skill_id)} (levels {min(levels)}-{max(levels)})",
        "version": version,
        "author": author,
        "license": license,
        "description": f"Generated by `realm module export {skill_id}`: training data and held-out eval sets.",
        "primitives": {"required": list(skill.primitives), "optional": []},
        "skills": [{"id": skill_id, "levels": sorted(set(levels)), "max_level": skill.max_level}],
        "data": data,
        "evaluation": {
            "type": "accuracy",
            "match": "strip",
            "threshold": threshold,
            "evals_required": int(getattr(skill.config, "min_evals", 3)),
            "sets": sets,
        },
        "curriculum": {"progression": "accuracy_gated", "min_accuracy_to_advance": threshold},
    }
    with tempfile.TemporaryDirectory(prefix="realm-export-") as tmp:
        written = write_module_folder(Path(tmp) / "module", manifest, files)
        zip_folder(Path(tmp) / "module", output)
    return written
