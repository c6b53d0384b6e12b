"""The realm folder: where configs/, quests/ and saves/ live, and how it is found."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from realm_tui.errors import RealmNotFound

REALM_DIRS = ("configs", "quests", "saves")
QUEST_DIRS = (
    "inbox",
    "queue/high",
    "queue/normal",
    "queue/low",
    "done",
    "failed",
    "modules",
)


@dataclass(frozen=True)
class RealmPaths:
    """Every well-known location inside one realm folder."""

    root: Path

    @property
    def configs(self) -> Path:
        return self.root / "configs"

    @property
    def quests(self) -> Path:
        return self.root / "quests"

    @property
    def saves(self) -> Path:
        return self.root / "saves"

    @property
    def store_file(self) -> Path:
        return self.saves / "realm.json"

    @property
    def requests(self) -> Path:
        """Write requests for the store's one writer (a running battle): one JSON file each."""
        return self.saves / "requests"

    @property
    def checkpoints(self) -> Path:
        return self.saves / "checkpoints"

    def hero_dir(self, hero_id: str) -> Path:
        return self.saves / "heroes" / hero_id

    @property
    def heroes_config(self) -> Path:
        return self.configs / "heroes"

    @property
    def skills_config(self) -> Path:
        return self.configs / "skills"

    @property
    def memory_profiles_config(self) -> Path:
        return self.configs / "memory_profiles"


def is_realm(path: Path) -> bool:
    return all((path / d).is_dir() for d in REALM_DIRS)


def resolve_realm(home: str | Path | None = None, cwd: Path | None = None) -> RealmPaths:
    """`--home` first, then `REALM_HOME`, then the current folder if it is a realm."""
    for source, value in (("--home", home), ("REALM_HOME", os.environ.get("REALM_HOME"))):
        if value:
            root = Path(value).expanduser().resolve()
            if not is_realm(root):
                raise RealmNotFound(
                    f"{root} (from {source}) is not a realm folder: it needs configs/, quests/ "
                    f"and saves/. Create one with: realm init {root}"
                )
            return RealmPaths(root)
    here = (cwd or Path.cwd()).resolve()
    if is_realm(here):
        return RealmPaths(here)
    raise RealmNotFound(
        f"{here} is not a realm folder (no configs/, quests/, saves/). "
        "Create one with `realm init DIR`, or point to one with --home DIR or REALM_HOME."
    )
