"""Every domain, physics, technique and path of a realm, their cross-file checks, and what a path
does to a battle: the domain replaces the curriculum's skills and modules, the physics the hero's
optimizer settings (`apply_path`); the memory profile keeps every memory knob and may refuse.

The four places are optional (a realm made before paths existed has none): a missing folder or
`paths.yaml` offers no path, and every battle follows the default path — the hero's own
`training_defaults` in `curriculum.yaml`'s mix, exactly the battle without `--path`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from realm_tui.config.common import optimizer_problem
from realm_tui.config.curriculum import CurriculumConfig
from realm_tui.config.hero import HeroConfig, TrainingDefaults
from realm_tui.config.loader import format_validation_error, load_model
from realm_tui.config.memory_profile import MemoryProfile
from realm_tui.config.path_models import Domain, PathEntry, PathsFile, Physics, Technique
from realm_tui.errors import ConfigError, InputError

DOMAINS_DIR = "domains"
PHYSICS_DIR = "physics"
TECHNIQUES_DIR = "techniques"
PATHS_FILE = "paths.yaml"
DEFAULT_PATH_LABEL = "default"
"""What the ledger and the screens show for a battle without a path: the hero's own settings."""

D = TypeVar("D", Domain, Physics, Technique)


@dataclass(frozen=True)
class ResolvedPath:
    """One path with its parts looked up."""

    entry: PathEntry
    domain: Domain
    technique: Technique
    physics: Physics

    @property
    def id(self) -> str:
        return self.entry.id


@dataclass(frozen=True)
class PathBook:
    """A realm's domains, physics, techniques and offered paths, cross-checked."""

    configs_dir: Path
    domains: dict[str, Domain]
    physics: dict[str, Physics]
    techniques: dict[str, Technique]
    paths: tuple[PathEntry, ...]

    def resolve(self, path_id: str) -> ResolvedPath:
        """The path `path_id` (`technique@domain`); an unknown one lists the paths offered."""
        for entry in self.paths:
            if entry.id == path_id:
                technique = self.techniques[entry.technique]
                return ResolvedPath(entry, self.domains[entry.domain], technique, self.physics[technique.physics])
        offered = ", ".join(p.id for p in self.paths) or f"none (add them to {self.configs_dir / PATHS_FILE})"
        raise InputError(None, f"unknown path {path_id!r}; the paths offered: {offered} (see `realm paths`)")

    def all(self) -> list[ResolvedPath]:
        return [self.resolve(p.id) for p in self.paths]


def _unknown(kind: str, wanted: str, known: Mapping[str, object]) -> str:
    return f"unknown {kind} {wanted!r}; available: {', '.join(sorted(known)) or 'none'}"


def _load_dir(folder: Path, model: type[D], errors: list[ConfigError]) -> dict[str, D]:
    loaded: dict[str, D] = {}
    if not folder.is_dir():
        return loaded
    for path in sorted(folder.glob("*.yaml")):
        if path.name.startswith("."):
            continue
        try:
            cfg = load_model(path, model)
        except ConfigError as err:
            errors.append(err)
            continue
        if cfg.id != path.stem:
            errors.append(ConfigError(path, f"id: {cfg.id!r} differs from the file name; both must be {path.stem!r}"))
            continue
        loaded[cfg.id] = cfg
    return loaded


def physics_refusals(physics: Physics, profile: MemoryProfile) -> list[str]:
    """Why memory profile `profile` refuses `physics` (empty: it accepts it)."""
    refusals: list[str] = []
    if physics.methods is not None and profile.method not in physics.methods:
        wanted = ", ".join(physics.methods)
        refusals.append(f"physics {physics.id} is for method {wanted}; profile {profile.id} trains {profile.method}")
    problem = optimizer_problem(profile.method, physics.optimizer.type)
    if problem:
        refusals.append(f"{problem} (profile {profile.id})")
    accum = physics.gradient_accumulation
    if accum is not None and accum > profile.max_grad_accum:
        refusals.append(
            f"gradient_accumulation {accum} is more than profile {profile.id} allows ({profile.max_grad_accum})"
        )
    return refusals


def with_physics(hero: HeroConfig, physics: Physics, eval_every_steps: int | None = None) -> HeroConfig:
    """`hero` with the physics' settings in its `training_defaults` (the memory knobs untouched)."""
    td: dict[str, Any] = hero.training_defaults.model_dump()
    td.update(physics.overrides())
    if eval_every_steps is not None:
        td["eval_every_steps"] = eval_every_steps
    return hero.model_copy(update={"training_defaults": TrainingDefaults.model_validate(td)})


def with_domain(
    curriculum: CurriculumConfig, domain: Domain, where: Path, skills: Collection[str] = ()
) -> CurriculumConfig:
    """`curriculum` with the domain's skills and modules (strategy, shares and level cap kept, but a
    focus on a skill outside the domain becomes `weighted`); every other skill in `skills` is listed
    disabled (an unlisted skill would count as enabled)."""
    data = curriculum.model_dump()
    data["skills"] = {k: v.model_dump() for k, v in domain.skills.items()}
    data["skills"] |= {k: {"weight": 0.0, "enabled": False} for k in skills if k not in domain.skills}
    data["modules"] = [m.model_dump() for m in domain.modules]
    if data.get("focus_skill") not in domain.skills:
        # curriculum.yaml's focus is on a skill this domain leaves out: the domain's skills share
        # the steps by weight instead (a realm focused on BIN can still follow `@words`)
        data["focus_skill"] = None
        if data.get("strategy") == "focus":
            data["strategy"] = "weighted"
    try:
        return CurriculumConfig.model_validate(data)
    except ValidationError as err:
        problem = format_validation_error(err, CurriculumConfig)
        raise ConfigError(where, f"skills: with curriculum.yaml's settings: {problem}") from None


def apply_path(
    book: PathBook,
    path: ResolvedPath,
    hero: HeroConfig,
    profile: MemoryProfile,
    curriculum: CurriculumConfig,
    skills: Collection[str] = (),
) -> tuple[HeroConfig, CurriculumConfig]:
    """The hero and curriculum a battle on `path` uses (`skills`: every skill id of the realm, those
    outside the domain are disabled); `InputError` when the profile refuses the physics."""
    refused = physics_refusals(path.physics, profile)
    if refused:
        raise InputError(
            None,
            f"path {path.id}: hero {hero.id}'s memory profile {profile.id} refuses technique "
            f"{path.technique.id} (physics {path.physics.id}): {refused[0]}",
        )
    moved = with_physics(hero, path.physics, path.domain.eval.every_steps)
    domain_file = book.configs_dir / DOMAINS_DIR / f"{path.domain.id}.yaml"
    return moved, with_domain(curriculum, path.domain, domain_file, skills)


def _check_physics(folder: Path, physics: dict[str, Physics]) -> list[ConfigError]:
    errors = []
    for p in physics.values():
        for method in p.methods or []:
            problem = optimizer_problem(method, p.optimizer.type)
            if problem:
                errors.append(ConfigError(folder / f"{p.id}.yaml", f"methods: {problem}"))
    return errors


def _check_technique(
    path: Path,
    technique: Technique,
    physics: dict[str, Physics],
    heroes: Mapping[str, HeroConfig],
    profiles: Mapping[str, MemoryProfile],
    names_known: bool,
) -> list[ConfigError]:
    """The technique's physics exists and every profile and hero it suits accepts it (`names_known`:
    every hero and profile file loaded, so a name not found is unknown)."""
    phys = physics.get(technique.physics)
    if phys is None:
        return [ConfigError(path, f"physics: {_unknown('physics', technique.physics, physics)}")]
    errors = []
    for i, pid in enumerate(technique.suits.profiles):
        profile = profiles.get(pid)
        if profile is None and not names_known:
            continue  # some hero or profile file did not load: that is reported already
        if profile is None:
            errors.append(ConfigError(path, f"suits.profiles[{i}]: {_unknown('memory profile', pid, profiles)}"))
        elif refused := physics_refusals(phys, profile):
            errors.append(ConfigError(path, f"suits.profiles[{i}]: profile {pid} refuses this physics: {refused[0]}"))
    for i, hid in enumerate(technique.suits.heroes):
        hero = heroes.get(hid)
        profile = profiles.get(hero.memory_profile) if hero is not None else None
        if hero is None and not names_known:
            continue
        if hero is None:
            errors.append(ConfigError(path, f"suits.heroes[{i}]: {_unknown('hero', hid, heroes)}"))
        elif profile is not None and (refused := physics_refusals(phys, profile)):
            errors.append(ConfigError(path, f"suits.heroes[{i}]: hero {hid}'s memory profile refuses it: {refused[0]}"))
    return errors


def _check_domains(
    folder: Path, domains: dict[str, Domain], curriculum: CurriculumConfig | None, skills: Mapping[str, object] | None
) -> list[ConfigError]:
    errors = []
    for d in domains.values():
        where = folder / f"{d.id}.yaml"
        unknown = [s for s in d.skills if skills is not None and s not in skills]
        if unknown:
            errors.append(ConfigError(where, f"skills: {_unknown('skill', unknown[0], skills or {})}"))
        elif curriculum is not None:
            try:
                with_domain(curriculum, d, where, skills or ())
            except ConfigError as err:
                errors.append(err)
    return errors


def _stems(folder: Path) -> set[str]:
    return {p.stem for p in folder.glob("*.yaml")} if folder.is_dir() else set()


def _check_paths(
    configs_dir: Path, listed: PathsFile, domains: dict[str, Domain], techniques: dict[str, Technique]
) -> list[ConfigError]:
    """Each path's technique and domain exist (a file that exists but did not load is reported already)."""
    where = configs_dir / PATHS_FILE
    technique_files, domain_files = _stems(configs_dir / TECHNIQUES_DIR), _stems(configs_dir / DOMAINS_DIR)
    errors = []
    for i, entry in enumerate(listed.paths):
        if entry.technique not in techniques and entry.technique not in technique_files:
            problem = _unknown("technique", entry.technique, techniques)
            errors.append(ConfigError(where, f"paths[{i}].technique: {problem}"))
        if entry.domain not in domains and entry.domain not in domain_files:
            errors.append(ConfigError(where, f"paths[{i}].domain: {_unknown('domain', entry.domain, domains)}"))
    return errors


def collect_path_book(
    configs_dir: Path,
    heroes: Mapping[str, HeroConfig],
    profiles: Mapping[str, MemoryProfile],
    curriculum: CurriculumConfig | None,
    skills: Mapping[str, object] | None,
    names_known: bool = True,
) -> tuple[PathBook | None, list[ConfigError]]:
    """Load and cross-check the four places; the book is None when anything is wrong.
    `names_known`: false when a hero or profile file did not load (a name it held is then not
    reported as unknown a second time)."""
    errors: list[ConfigError] = []
    domains = _load_dir(configs_dir / DOMAINS_DIR, Domain, errors)
    physics = _load_dir(configs_dir / PHYSICS_DIR, Physics, errors)
    techniques = _load_dir(configs_dir / TECHNIQUES_DIR, Technique, errors)
    listed = PathsFile()
    paths_file = configs_dir / PATHS_FILE
    if paths_file.exists():
        try:
            listed = load_model(paths_file, PathsFile)
        except ConfigError as err:
            errors.append(err)
    errors += _check_physics(configs_dir / PHYSICS_DIR, physics)
    for t in techniques.values():
        where = configs_dir / TECHNIQUES_DIR / f"{t.id}.yaml"
        errors += _check_technique(where, t, physics, heroes, profiles, names_known)
    errors += _check_domains(configs_dir / DOMAINS_DIR, domains, curriculum, skills)
    errors += _check_paths(configs_dir, listed, domains, techniques)
    if errors:
        return None, errors
    return PathBook(configs_dir, domains, physics, techniques, tuple(listed.paths)), errors
