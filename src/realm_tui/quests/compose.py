"""Installed quest modules composed into a battle (the `modules:` list of configs/curriculum.yaml).

The parent decides everything here, when it plans the battle; the trainer child only gets the
result in `TrainJob.curriculum["modules"]` (absolute file paths) and never reads the store, the
manifests or curriculum.yaml itself.

Rules (documented in docs/modules.md):
- only enabled entries with a weight > 0 take part, in priority order (lower first, then id);
- a listed module that is not installed (or whose manifest is broken) refuses the battle with one
  message naming configs/curriculum.yaml and the id;
- a module whose requirements the hero does not meet is skipped, with the reason in the battle log:
  `min_level` is the hero level (campaign steps // steps_per_level), each prerequisite must be an
  installed module;
- per module skill, the hero trains the level it is training: a realm skill of the curriculum at
  its training level, any other skill at one above its mastered level in the campaign (capped by
  the module's max_level). The module's data files at that level are mixed in (progression
  `mixed`: every file up to that level). No file at those levels: the module is skipped, with why;
- the chosen files are validated again (schema and content, as at install time): a file changed
  since installation refuses the battle, naming the file and the line, so no bad line is trained.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from realm_tui.config.curriculum import CurriculumConfig, ModuleWeight
from realm_tui.errors import InputError
from realm_tui.paths import RealmPaths
from realm_tui.quests.modules import MODULE_LEVELS, InstalledModule, list_modules, modules_dir
from realm_tui.quests.validate import validate_quest_file

CURRICULUM_FILE = "curriculum.yaml"


@dataclass(frozen=True)
class ModuleChoice:
    """What one listed module brings to the battle: its files, or why it is skipped."""

    id: str
    weight: float
    priority: int
    files: tuple[Path, ...] = ()
    levels: dict[str, int] = field(default_factory=dict)
    """The level trained per module skill."""
    skipped: str | None = None

    def payload(self) -> dict[str, Any]:
        """The entry of `TrainJob.curriculum["modules"]` (plain values only)."""
        return {
            "id": self.id,
            "weight": self.weight,
            "priority": self.priority,
            "files": [str(p) for p in self.files],
            "levels": dict(self.levels),
            "skipped": self.skipped,
        }


def module_levels(module: InstalledModule, trained: Mapping[str, int], mastered: Mapping[str, int]) -> dict[str, int]:
    """The level the hero trains in each of the module's skills (see the module doc)."""
    out: dict[str, int] = {}
    for skill in module.manifest.skills:
        if trained.get(skill.id):
            out[skill.id] = int(trained[skill.id])
        else:
            out[skill.id] = max(1, min(int(mastered.get(skill.id, 0)) + 1, skill.max_level))
    return out


def _levels_text(levels: Iterable[int]) -> str:
    got = sorted(set(levels))
    if len(got) >= 3 and got == list(range(got[0], got[-1] + 1)):
        return f"{got[0]}-{got[-1]}"
    return ", ".join(str(x) for x in got)


def choose_files(module: InstalledModule, levels: Mapping[str, int]) -> tuple[list[Path], str | None]:
    """The module's data files at the hero's levels, or (nothing, why)."""
    manifest = module.manifest
    mixed = manifest.curriculum.progression == "mixed"
    files: list[Path] = []
    for entry in manifest.data:
        level = levels[manifest.skill_of(entry)]
        if entry.skill_level == level or (mixed and entry.skill_level < level):
            files.append(module.root / entry.path)
    if files:
        return files, None
    wanted = ", ".join(f"{skill} level {level}" for skill, level in levels.items())
    has = "; ".join(f"{s.id} levels {_levels_text(s.levels)}" for s in manifest.skills)
    return [], f"no data at the levels the hero trains ({wanted}); the module has {has}"


def plan_modules(
    listed: Sequence[ModuleWeight],
    installed: Mapping[str, InstalledModule],
    *,
    hero_level: int,
    trained: Mapping[str, int],
    mastered: Mapping[str, int],
) -> list[ModuleChoice]:
    """Pure: the choice for each enabled listed module, in priority order.

    `installed`: every installed module by id (a listed id missing here raises KeyError: check
    with `installed_modules` first); `trained`: training level of each curriculum skill;
    `mastered`: the campaign's mastered level per skill."""
    out: list[ModuleChoice] = []
    for entry in sorted((m for m in listed if m.enabled and m.weight > 0), key=lambda m: (m.priority, m.id)):
        module = installed[entry.id]
        req = module.manifest.requirements
        missing = [p for p in req.prerequisites if p not in installed]
        files: list[Path] = []
        levels: dict[str, int] = {}
        skipped: str | None
        if hero_level < req.min_level:
            skipped = f"needs hero level {req.min_level}; the hero is level {hero_level}"
        elif missing:
            skipped = f"prerequisite module(s) not installed: {', '.join(missing)}"
        else:
            levels = module_levels(module, trained, mastered)
            files, skipped = choose_files(module, levels)
        out.append(ModuleChoice(entry.id, entry.weight, entry.priority, tuple(files), levels, skipped))
    return out


# ---------------------------------------------------------------- I/O (the parent, at planning)


def installed_modules(realm: RealmPaths, curriculum: CurriculumConfig) -> dict[str, InstalledModule]:
    """Every usable installed module by id; InputError naming curriculum.yaml when an enabled
    listed module is not installed or is broken. Reads only: call it before anything is written."""
    usable: dict[str, InstalledModule] = {}
    broken: dict[str, str] = {}
    for entry in list_modules(realm):
        if entry.module is not None:
            usable[entry.module.id] = entry.module
        else:
            broken[entry.folder.name] = entry.error or "unreadable manifest"
    where = realm.configs / CURRICULUM_FILE
    for listed in curriculum.modules:
        if not listed.enabled or listed.id in usable:
            continue
        if listed.id in broken:
            raise InputError(
                where,
                f"modules: {listed.id!r} is installed but broken ({broken[listed.id]}); reinstall it with "
                "`realm module install PATH --force`, or set enabled: false",
            )
        raise InputError(
            where,
            f"modules: {listed.id!r} is not installed in {modules_dir(realm)} (see `realm module list`); "
            "install it with `realm module install PATH`, remove it from the list or set enabled: false",
        )
    return usable


def check_module_files(choices: Iterable[ModuleChoice]) -> None:
    """Validate the chosen files again (schema + content); InputError naming the file and line."""
    for choice in choices:
        for path in choice.files:
            report = validate_quest_file(path, levels=MODULE_LEVELS)
            if not report.ok:
                first = report.problems[0] if report.problems else None
                detail = f"line {first.line}: {first.reason}" if first else "no usable line"
                raise InputError(
                    path,
                    f"{detail} (module {choice.id} changed since it was installed: reinstall it with "
                    "`realm module install PATH --force`, or disable it in configs/curriculum.yaml)",
                )


def modules_payload(
    curriculum: CurriculumConfig,
    installed: Mapping[str, InstalledModule],
    *,
    hero_level: int,
    skills_payload: Mapping[str, Any],
    mastered: Mapping[str, int],
) -> list[dict[str, Any]]:
    """`TrainJob.curriculum["modules"]`: plan the listed modules and check their chosen files."""
    trained = {sid: int(entry.get("level") or 0) for sid, entry in skills_payload.items()}
    choices = plan_modules(curriculum.modules, installed, hero_level=hero_level, trained=trained, mastered=mastered)
    check_module_files(choices)
    return [c.payload() for c in choices]
