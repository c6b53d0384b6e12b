"""Quest modules: shareable packs of training and eval data in `quests/modules/<id>/`.

`install_module` unpacks a zip or copies a folder into a temporary folder inside
`quests/modules/` (with every check of `archive`), validates the manifest and every data and eval
file, and only then swaps it into place with renames: an installed older version stays usable
until the new one is complete. Nothing from a module is ever executed.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import time
import uuid
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from realm_tui.config.common import SLUG_PATTERN
from realm_tui.errors import ConfigError, InputError
from realm_tui.paths import RealmPaths
from realm_tui.quests.archive import Unpacked, copy_folder, extract_zip
from realm_tui.quests.manifest import MANIFEST_NAME, DataFile, EvalSet, ModuleManifest, load_manifest
from realm_tui.quests.policy import QuestPolicy
from realm_tui.quests.validate import Level, QuestReport, validate_quest_file

STAGING_PREFIX = ".install-"
BACKUP_PREFIX = ".old-"
LEFTOVER_SECONDS = 3600.0
MODULE_LEVELS: tuple[Level, ...] = ("schema", "content")
"""Checks every module file passes (token limits depend on the hero and are checked at training)."""


@dataclass(frozen=True)
class InstalledModule:
    """A module folder with its (valid) manifest."""

    root: Path
    manifest: ModuleManifest

    @property
    def id(self) -> str:
        return self.manifest.id

    def _pick(self, entries: Iterable[DataFile | EvalSet], skill: str | None, level: int | None) -> list[Path]:
        return [
            self.root / e.path
            for e in entries
            if (skill is None or self.manifest.skill_of(e) == skill) and (level is None or e.skill_level == level)
        ]

    def data_files(self, skill: str | None = None, level: int | None = None) -> list[Path]:
        """Training files (of one skill / level, if given)."""
        return self._pick(self.manifest.data, skill, level)

    def eval_files(self, skill: str | None = None, level: int | None = None) -> list[Path]:
        """Eval files (of one skill / level, if given)."""
        sets = self.manifest.evaluation.sets if self.manifest.evaluation else []
        return self._pick(sets, skill, level)


@dataclass
class ModuleCheck:
    """The verdict on one module folder."""

    root: Path
    manifest: ModuleManifest | None = None
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    reports: dict[str, QuestReport] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.manifest is not None and not self.problems

    def summary(self, limit: int = 10) -> str:
        lines = [f"  {p}" for p in self.problems[:limit]]
        if len(self.problems) > limit:
            lines.append(f"  … and {len(self.problems) - limit} more")
        return "\n".join(lines)


@dataclass(frozen=True)
class ModuleEntry:
    """One folder of `quests/modules/`: its module, or why it cannot be used."""

    folder: Path
    module: InstalledModule | None
    error: str | None = None


@dataclass(frozen=True)
class InstallResult:
    module: InstalledModule
    replaced: ModuleManifest | None
    unpacked: Unpacked
    warnings: list[str]


def modules_dir(realm: RealmPaths) -> Path:
    return realm.quests / "modules"


def check_module(root: Path, policy: QuestPolicy | None = None, *, shown_as: str | None = None) -> ModuleCheck:
    """Check a module folder: manifest, every listed file (present, regular, valid, counted).

    `shown_as`: how messages name the manifest when `root` is a throw-away unpacking folder (the
    archive the player gave, not a staging path that is gone by the time they read it)."""
    check = ModuleCheck(root)
    manifest_path = root / MANIFEST_NAME
    where = shown_as or str(manifest_path)
    if manifest_path.is_symlink() or not manifest_path.is_file():
        check.problems.append(f"{where}: no {MANIFEST_NAME} (a module needs one at its root)")
        return check
    try:
        manifest = load_manifest(manifest_path)
    except ConfigError as err:
        check.problems.append(f"{where}: {err.problem}")
        return check
    check.manifest = manifest
    listed = set()
    for entry in manifest.files():
        path = root / entry.path
        listed.add(entry.path)
        if path.is_symlink() or not path.is_file():
            what = "a link" if path.is_symlink() else "missing"
            check.problems.append(f"{entry.path}: listed in the manifest but {what}")
            continue
        report = validate_quest_file(path, policy=policy, levels=MODULE_LEVELS)
        check.reports[entry.path] = report
        for problem in report.problems[:5]:
            check.problems.append(f"{entry.path}:{problem.line}: {problem.reason}")
        if report.problem_count > 5:
            check.problems.append(f"{entry.path}: … and {report.problem_count - 5} more invalid line(s)")
        found = len(report.valid_lines) + report.problem_count
        if found != entry.examples:
            check.problems.append(f"{entry.path}: the manifest says {entry.examples} examples, the file has {found}")
    for folder in ("data", "eval"):
        for path in sorted((root / folder).rglob("*.jsonl")) if (root / folder).is_dir() else []:
            rel = path.relative_to(root).as_posix()
            if rel not in listed:
                check.warnings.append(f"{rel}: not listed in the manifest (never trained)")
    unknown = manifest.primitives.unknown()
    if unknown:
        check.warnings.append(f"primitives not in the catalogue (no stats for them): {', '.join(unknown)}")
    return check


def find_root(folder: Path) -> Path | None:
    """The module root in an unpacked folder: itself, or its single sub-folder holding a manifest."""
    if (folder / MANIFEST_NAME).is_file():
        return folder
    subs = [p for p in folder.iterdir() if not p.name.startswith(".")]
    if len(subs) == 1 and subs[0].is_dir() and not subs[0].is_symlink() and (subs[0] / MANIFEST_NAME).is_file():
        return subs[0]
    return None


def _root_of(unpacked: Path, source: Path) -> Path:
    root = find_root(unpacked)
    if root is None:
        raise InputError(source, f"not a module: no {MANIFEST_NAME} at the top (or in a single top folder)")
    return root


def _manifest_in(source: Path, unpacked: Path, root: Path) -> str:
    """The manifest named as the player knows it: `<archive or folder>: <path inside>`."""
    inside = (root / MANIFEST_NAME).relative_to(unpacked).as_posix()
    return f"{source}: {inside}"


def unpack(source: Path, dest: Path, policy: QuestPolicy) -> Unpacked:
    """Copy a module folder or unpack a module zip into the empty folder `dest`."""
    if source.is_dir():
        return copy_folder(source, dest, policy.archive)
    if source.is_file() and zipfile.is_zipfile(source):
        return extract_zip(source, dest, policy.archive)
    if not source.exists():
        raise InputError(source, "not found")
    raise InputError(source, "not a module: expected a folder or a .zip archive")


def validate_module_source(source: Path, policy: QuestPolicy | None = None) -> ModuleCheck:
    """Unpack into a throw-away folder (outside any realm) with every install check; the verdict."""
    policy = policy or QuestPolicy()
    with tempfile.TemporaryDirectory(prefix="realm-module-") as tmp:
        unpack(Path(source), Path(tmp), policy)
        root = _root_of(Path(tmp), Path(source))
        check = check_module(root, policy, shown_as=_manifest_in(Path(source), Path(tmp), root))
        check.root = Path(source)
        return check


def list_modules(realm: RealmPaths) -> list[ModuleEntry]:
    """Every module folder (dot-folders are ours: staging and backups), by folder name."""
    folder = modules_dir(realm)
    entries = []
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        if path.name.startswith(".") or not path.is_dir() or path.is_symlink():
            continue
        try:
            manifest = load_manifest(path / MANIFEST_NAME)
        except ConfigError as err:
            entries.append(ModuleEntry(path, None, str(err)))
            continue
        if manifest.id != path.name:
            entries.append(ModuleEntry(path, None, f"{path}: manifest id {manifest.id!r} differs from the folder"))
            continue
        entries.append(ModuleEntry(path, InstalledModule(path, manifest)))
    return entries


def get_module(realm: RealmPaths, module_id: str) -> InstalledModule:
    """The installed module `module_id`; InputError when it is missing or broken."""
    for entry in list_modules(realm):
        if entry.folder.name == module_id:
            if entry.module is None:
                raise InputError(None, entry.error or f"module {module_id} is broken")
            return entry.module
    raise InputError(None, f"no module {module_id!r} in {modules_dir(realm)} (see `realm module list`)")


def _remove_tree(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)


def _clean_leftovers(folder: Path) -> None:
    """Remove our own staging/backup folders left by a crash (older than an hour)."""
    for path in folder.iterdir():
        if path.name.startswith((STAGING_PREFIX, BACKUP_PREFIX)):
            with contextlib.suppress(OSError):
                if time.time() - path.lstat().st_mtime > LEFTOVER_SECONDS:
                    _remove_tree(path)


def install_module(
    realm: RealmPaths,
    source: Path,
    *,
    force: bool = False,
    policy: QuestPolicy | None = None,
    confirm: Callable[[ModuleManifest | None, ModuleManifest], bool] | None = None,
) -> InstallResult:
    """Install a module zip or folder as `quests/modules/<id>/` (see the module doc).

    Over an installed copy: `force`, or `confirm(old, new)` returning True, replaces it;
    otherwise InputError and nothing changes.
    """
    policy = policy or QuestPolicy()
    source = Path(source).expanduser()
    folder = modules_dir(realm)
    folder.mkdir(parents=True, exist_ok=True)
    _clean_leftovers(folder)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=folder))
    try:
        pkg = staging / "pkg"
        pkg.mkdir()
        unpacked = unpack(source, pkg, policy)
        root = _root_of(pkg, source)
        check = check_module(root, policy, shown_as=_manifest_in(source, pkg, root))
        if not check.ok or check.manifest is None:
            raise InputError(source, "not a valid module:\n" + check.summary())
        manifest = check.manifest
        warnings = list(check.warnings)
        dest = folder / manifest.id
        missing = [m for m in manifest.requirements.prerequisites if not (folder / m).is_dir()]
        if missing:
            warnings.append(f"prerequisite module(s) not installed: {', '.join(missing)}")
        replaced = _swap_in(check.root, dest, manifest, force=force, confirm=confirm)
        return InstallResult(InstalledModule(dest, manifest), replaced, unpacked, warnings)
    finally:
        _remove_tree(staging)


def _swap_in(
    root: Path,
    dest: Path,
    manifest: ModuleManifest,
    *,
    force: bool,
    confirm: Callable[[ModuleManifest | None, ModuleManifest], bool] | None,
) -> ModuleManifest | None:
    if not (dest.exists() or dest.is_symlink()):
        os.replace(root, dest)
        return None
    try:
        old: ModuleManifest | None = load_manifest(dest / MANIFEST_NAME)
    except ConfigError:
        old = None
    if not force and not (confirm is not None and confirm(old, manifest)):
        installed = f"{old.id} {old.version}" if old else f"{dest.name} (unreadable manifest)"
        raise InputError(None, f"module {installed} is installed; replace it with {manifest.version} with --force")
    backup = dest.with_name(f"{BACKUP_PREFIX}{dest.name}-{uuid.uuid4().hex[:8]}")
    os.replace(dest, backup)
    try:
        os.replace(root, dest)
    except OSError:
        os.replace(backup, dest)
        raise
    _remove_tree(backup)
    return old


def uninstall_module(realm: RealmPaths, module_id: str) -> Path:
    """Remove `quests/modules/<id>/` (a broken module too); returns the folder removed.

    Only a module id (a slug) names a folder to remove: never the modules folder itself, a
    dot-folder of ours or anything outside it."""
    folder = modules_dir(realm)
    target = folder / module_id
    valid = re.fullmatch(SLUG_PATTERN, module_id) is not None and target.parent == folder
    if not valid or not target.is_dir():
        raise InputError(None, f"no module {module_id!r} in {modules_dir(realm)} (see `realm module list`)")
    backup = target.with_name(f"{BACKUP_PREFIX}{module_id}-{uuid.uuid4().hex[:8]}")
    os.replace(target, backup)
    _remove_tree(backup)
    return target
