"""`realm init DIR`: lay out a new realm folder with the default configs."""

from __future__ import annotations

import shutil
from pathlib import Path

from realm_tui.errors import InputError
from realm_tui.paths import QUEST_DIRS, RealmPaths


def default_configs_dir() -> Path:
    """The configs shipped with the package (the repo's own `configs/`)."""
    return Path(__file__).resolve().parents[1] / "defaults"


def init_realm(target: Path, *, force: bool = False) -> tuple[RealmPaths, list[Path]]:
    """Create the realm folders and copy the default configs; existing files are kept.

    Returns the realm and the files written. With `force`, default configs overwrite
    existing ones (saves and quests are never touched).
    """
    root = Path(target).expanduser().resolve()
    if root.exists() and not root.is_dir():
        raise InputError(root, "exists and is not a folder")
    realm = RealmPaths(root)
    written: list[Path] = []
    for folder in (realm.configs, realm.saves, realm.checkpoints, *(realm.quests / q for q in QUEST_DIRS)):
        folder.mkdir(parents=True, exist_ok=True)
    source = default_configs_dir()
    if source.resolve() == realm.configs.resolve():
        return realm, written  # initialising the repo itself: its configs are the defaults
    for src in sorted(source.rglob("*")):
        if not src.is_file() or src.name.startswith("."):
            continue
        dest = realm.configs / src.relative_to(source)
        if dest.exists() and not force:
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest)
        written.append(dest)
    return realm, written
