"""All of a realm's configs at once, with the checks that span files.

`load_realm_configs` is for running the game: it raises the first problem. `validate_realm_configs`
is for `realm validate` / `realm doctor`: it reports every problem it can find. Both check every
file under `configs/` (`extra_files`: the board's `quests.yaml`, `accelerate/`, stray files), so a
battle is refused before it writes anything.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from realm_tui.config.common import SLUG_PATTERN, optimizer_problem
from realm_tui.config.curriculum import CurriculumConfig
from realm_tui.config.extra_files import check_extra_files
from realm_tui.config.hero import HeroConfig
from realm_tui.config.loader import load_model
from realm_tui.config.memory_profile import MemoryProfile
from realm_tui.config.path_book import PathBook, collect_path_book
from realm_tui.config.titles import TitlesConfig
from realm_tui.errors import ConfigError

if TYPE_CHECKING:
    from realm_tui.config.skill import SkillConfig

DEFAULT_HERO = "dio-nano"
"""The hero a new realm starts with: built locally, trains on a CPU."""

HEROES_DIR = "heroes"
PROFILES_DIR = "memory_profiles"
SKILLS_DIR = "skills"
TITLES_FILE = "titles.yaml"
CURRICULUM_FILE = "curriculum.yaml"
SKILL_MODULE = "realm_tui.config.skill"

C = TypeVar("C", HeroConfig, MemoryProfile)
T = TypeVar("T", TitlesConfig, CurriculumConfig)


@dataclass(frozen=True)
class RealmConfigs:
    """Every config of one realm, validated, keyed by id."""

    configs_dir: Path
    """The `configs/` folder these came from."""
    heroes: dict[str, HeroConfig]
    memory_profiles: dict[str, MemoryProfile]
    titles: TitlesConfig
    curriculum: CurriculumConfig
    skills: dict[str, SkillConfig] = field(default_factory=dict)
    """Skill configs by id."""
    skills_loaded: bool = False
    """False when the skill config module is not available, so skills were not loaded or checked."""
    path_book: PathBook | None = None
    """Domains, physics, techniques and the paths offered (`config.path_book`); None: not loaded."""

    def hero(self, hero_id: str) -> HeroConfig:
        """The hero `hero_id`; a `ConfigError` listing the heroes when there is none."""
        try:
            return self.heroes[hero_id]
        except KeyError:
            raise ConfigError(self.configs_dir / HEROES_DIR, _unknown("hero", hero_id, self.heroes)) from None

    def profile_for(self, hero: HeroConfig) -> MemoryProfile:
        """The memory profile a hero names."""
        return self.memory_profiles[hero.memory_profile]


def _id_mismatch(path: Path, found: str) -> ConfigError:
    return ConfigError(path, f"id: {found!r} differs from the file name; both must be {path.stem!r}")


def _unknown(kind: str, wanted: str, known: Mapping[str, object] | list[str]) -> str:
    names = ", ".join(sorted(known)) or "none"
    return f"unknown {kind} {wanted!r}; available: {names}"


def hero_profile_problems(hero: HeroConfig, profile: MemoryProfile) -> list[str]:
    """Why `hero`'s training defaults do not fit `profile`, as `field: problem` lines (none: fits)."""
    td = hero.training_defaults
    name = f"memory profile {profile.id}"
    problems: list[str] = []
    problem = optimizer_problem(profile.method, td.optimizer)
    if problem:
        problems.append(f"training_defaults.optimizer: {problem} ({name})")
    limits = (
        ("batch_size", td.batch_size, "max_batch_size", profile.max_batch_size),
        ("gradient_accumulation", td.gradient_accumulation, "max_grad_accum", profile.max_grad_accum),
        ("max_length", td.max_length, "max_seq_length", profile.max_seq_length),
    )
    for key, value, limit_key, limit in limits:
        if value > limit:
            problems.append(f"training_defaults.{key}: {value} is more than {name} allows ({limit_key} {limit})")
    return problems


def _yaml_files(folder: Path, errors: list[ConfigError]) -> list[Path]:
    if not folder.is_dir():
        errors.append(ConfigError(folder, "folder not found"))
        return []
    files = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        if path.suffix == ".yml":
            errors.append(ConfigError(path, "use the .yaml extension; .yml files are not read"))
        elif path.suffix == ".yaml":
            files.append(path)
    return files


def _load_folder(folder: Path, model: type[C], kind: str, errors: list[ConfigError]) -> tuple[dict[str, C], set[str]]:
    """Valid configs by id, and the stems of every file found (valid or not)."""
    loaded: dict[str, C] = {}
    files = _yaml_files(folder, errors)
    if not files and folder.is_dir():
        errors.append(ConfigError(folder, f"no {kind} files (*.yaml)"))
    for path in files:
        try:
            cfg = load_model(path, model)
        except ConfigError as err:
            errors.append(err)
            continue
        if cfg.id != path.stem:
            errors.append(_id_mismatch(path, cfg.id))
            continue
        loaded[cfg.id] = cfg
    return loaded, {p.stem for p in files}


def _skills_loader() -> Callable[[Path], Mapping[str, SkillConfig]] | None:
    """`load_skills` from the skill config module, or None while that module does not exist."""
    try:
        module = importlib.import_module(SKILL_MODULE)
    except ModuleNotFoundError as err:
        if err.name == SKILL_MODULE:
            return None
        raise
    loader = getattr(module, "load_skills", None)
    return loader if callable(loader) else None


def _load_one(path: Path, model: type[T], errors: list[ConfigError]) -> T | None:
    try:
        return load_model(path, model)
    except ConfigError as err:
        errors.append(err)
        return None


def _load_skills(skills_dir: Path, errors: list[ConfigError]) -> dict[str, SkillConfig] | None:
    """Skill configs by id; None when the skill module is missing or the skills did not load."""
    load_skills = _skills_loader()
    if load_skills is None:
        return None
    try:
        return dict(load_skills(skills_dir))
    except ConfigError as err:
        errors.append(err)
        return None


def _check_heroes(
    configs_dir: Path,
    heroes: dict[str, HeroConfig],
    profiles: dict[str, MemoryProfile],
    profile_files: set[str],
    skills: dict[str, SkillConfig] | None,
) -> list[ConfigError]:
    errors: list[ConfigError] = []
    for hero in heroes.values():
        path = configs_dir / HEROES_DIR / f"{hero.id}.yaml"
        profile = profiles.get(hero.memory_profile)
        if profile is not None:
            errors.extend(ConfigError(path, problem) for problem in hero_profile_problems(hero, profile))
        elif hero.memory_profile not in profile_files:  # a broken profile file is reported already
            problem = _unknown("memory profile", hero.memory_profile, profiles)
            errors.append(ConfigError(path, f"memory_profile: {problem}"))
        if skills is not None:
            for skill in hero.idle.skill_priorities:
                if skill not in skills:
                    errors.append(ConfigError(path, f"idle.skill_priorities: {_unknown('skill', skill, skills)}"))
    return errors


def _check_skill_names(
    configs_dir: Path,
    titles: TitlesConfig | None,
    curriculum: CurriculumConfig | None,
    skills: dict[str, SkillConfig],
) -> list[ConfigError]:
    errors: list[ConfigError] = []
    if curriculum is not None:
        named = list(curriculum.skills)
        if curriculum.focus_skill is not None:
            named.append(curriculum.focus_skill)
        for skill in dict.fromkeys(named):
            if skill not in skills:
                problem = f"skills: {_unknown('skill', skill, skills)}"
                errors.append(ConfigError(configs_dir / CURRICULUM_FILE, problem))
    if titles is not None:
        for skill in sorted(titles.skills_named()):
            if skill not in skills:
                problem = f"conditions.skill_levels: {_unknown('skill', skill, skills)}"
                errors.append(ConfigError(configs_dir / TITLES_FILE, problem))
    return errors


def _collect(configs_dir: Path) -> tuple[RealmConfigs | None, list[ConfigError]]:
    """Load everything, file by file, then run the checks that span files."""
    errors: list[ConfigError] = []
    profiles, profile_files = _load_folder(configs_dir / PROFILES_DIR, MemoryProfile, "memory profile", errors)
    heroes, _ = _load_folder(configs_dir / HEROES_DIR, HeroConfig, "hero", errors)
    titles = _load_one(configs_dir / TITLES_FILE, TitlesConfig, errors)
    curriculum = _load_one(configs_dir / CURRICULUM_FILE, CurriculumConfig, errors)
    skills = _load_skills(configs_dir / SKILLS_DIR, errors)

    errors.extend(_check_heroes(configs_dir, heroes, profiles, profile_files, skills))
    if skills is not None:
        errors.extend(_check_skill_names(configs_dir, titles, curriculum, skills))
    errors.extend(check_extra_files(configs_dir))  # quests.yaml, accelerate/, and files nobody reads
    book, path_errors = collect_path_book(configs_dir, heroes, profiles, curriculum, skills, names_known=not errors)
    errors.extend(path_errors)  # domains/, physics/, techniques/, paths.yaml

    if errors or titles is None or curriculum is None:
        return None, errors
    configs = RealmConfigs(
        configs_dir=configs_dir,
        heroes=heroes,
        memory_profiles=profiles,
        titles=titles,
        curriculum=curriculum,
        skills=skills or {},
        skills_loaded=skills is not None,
        path_book=book,
    )
    return configs, errors


def validate_realm_configs(configs_dir: Path | str) -> list[ConfigError]:
    """Every problem in a realm's `configs/` folder, one `ConfigError` each (empty: all good)."""
    return _collect(Path(configs_dir))[1]


def load_realm_configs(configs_dir: Path | str) -> RealmConfigs:
    """Load and cross-check a realm's `configs/` folder; raises the first `ConfigError`."""
    configs, errors = _collect(Path(configs_dir))
    if errors:
        raise errors[0]
    assert configs is not None  # no errors means every part loaded
    return configs


def _check_id(kind: str, value: str, folder: Path) -> None:
    if not re.fullmatch(SLUG_PATTERN, value):
        raise ConfigError(folder, f"{kind} id {value!r} is not valid: use lower-case letters, digits, - and _")


def load_memory_profile(configs_dir: Path | str, profile_id: str) -> MemoryProfile:
    """Load one memory profile by id; an unknown id lists the available ones."""
    folder = Path(configs_dir) / PROFILES_DIR
    _check_id("memory profile", profile_id, folder)
    path = folder / f"{profile_id}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []
        raise ConfigError(folder, _unknown("memory profile", profile_id, known))
    profile = load_model(path, MemoryProfile)
    if profile.id != profile_id:
        raise _id_mismatch(path, profile.id)
    return profile


def load_hero(configs_dir: Path | str, hero_id: str) -> HeroConfig:
    """Load one hero by id and check it against its memory profile; an unknown id lists the heroes."""
    folder = Path(configs_dir) / HEROES_DIR
    _check_id("hero", hero_id, folder)
    path = folder / f"{hero_id}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []
        raise ConfigError(folder, _unknown("hero", hero_id, known))
    hero = load_model(path, HeroConfig)
    if hero.id != hero_id:
        raise _id_mismatch(path, hero.id)
    try:
        profile = load_memory_profile(configs_dir, hero.memory_profile)
    except ConfigError as err:
        if err.path is not None and err.path.is_dir():  # unknown profile: blame the hero's field
            raise ConfigError(path, f"memory_profile: {err.problem}") from None
        raise
    problems = hero_profile_problems(hero, profile)
    if problems:
        raise ConfigError(path, problems[0])
    return hero
