"""Which skills exist, where their shipped configs live, and the module-level helpers the rest of
the game calls: `get_skill`, `heldout_eval_set`, `training_batch`, `to_chat_jsonl`."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from realm_tui.config.skill import BinConfig, SkillConfig, SyConfig, load_skill
from realm_tui.skills.base import Problem, Skill, SkillBase

SKILL_IDS: tuple[str, ...] = ("bin", "sy")
"""Every skill id, in display order."""

DEFAULT_SKILLS_DIR = Path(__file__).resolve().parents[3] / "configs" / "skills"
"""The repo's shipped skill configs (source checkout / editable install). A running game passes
the realm's own configs to `get_skill` instead."""


def build_skill(config: SkillConfig) -> SkillBase:
    """The skill object for a loaded config."""
    from realm_tui.skills.bin import BinSkill
    from realm_tui.skills.sy import SySkill

    if isinstance(config, BinConfig):
        return BinSkill(config)
    if isinstance(config, SyConfig):
        return SySkill(config)
    raise ValueError(f"no skill implementation for config id {config.id!r}")


@cache
def _default_skill(skill_id: str) -> SkillBase:
    return build_skill(load_skill(DEFAULT_SKILLS_DIR / f"{skill_id}.yaml"))


def get_skill(skill_id: str, config: SkillConfig | None = None) -> SkillBase:
    """The skill `skill_id`, built from `config` or (cached) from the shipped config."""
    if skill_id not in SKILL_IDS:
        raise KeyError(f"unknown skill {skill_id!r} (known: {', '.join(SKILL_IDS)})")
    if config is None:
        return _default_skill(skill_id)
    if config.id != skill_id:
        raise ValueError(f"config is for {config.id!r}, not {skill_id!r}")
    return build_skill(config)


@cache
def _realm_skill(skill_id: str, path: str, mtime_ns: int) -> SkillBase:
    return build_skill(load_skill(Path(path)))


def realm_skill(skill_id: str, configs_dir: Path | str | None) -> SkillBase:
    """The skill as a realm configures it (`<configs_dir>/skills/<id>.yaml`), falling back to the
    shipped config when the realm has no file for it. Cached per file version, so eval pools
    are built once per process."""
    if skill_id not in SKILL_IDS:
        raise KeyError(f"unknown skill {skill_id!r} (known: {', '.join(SKILL_IDS)})")
    path = Path(configs_dir) / "skills" / f"{skill_id}.yaml" if configs_dir is not None else None
    if path is None or not path.is_file():
        return get_skill(skill_id)
    return _realm_skill(skill_id, str(path.resolve()), path.stat().st_mtime_ns)


def _resolve(skill: str | SkillBase) -> SkillBase:
    return get_skill(skill) if isinstance(skill, str) else skill


def heldout_eval_set(skill: str | SkillBase, level: int, n: int) -> list[Problem]:
    """The fixed held-out eval problems of (skill, level): the first `n` of its eval pool."""
    return _resolve(skill).heldout_eval_set(level, n)


def training_batch(skill: str | SkillBase, level: int, n: int, index: int) -> list[Problem]:
    """Training batch `index` at (skill, level); never contains a held-out question."""
    return _resolve(skill).training_batch(level, n, index)


def to_chat_jsonl(problems: Iterable[Problem], path: Path, system: str | None = None) -> int:
    """Write one `{"messages": [...]}` line per problem (UTF-8, atomically); return the count."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            for p in problems:
                fh.write(json.dumps({"messages": p.messages(system)}, ensure_ascii=False) + "\n")
                count += 1
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count


__all__ = [
    "DEFAULT_SKILLS_DIR",
    "SKILL_IDS",
    "Skill",
    "build_skill",
    "get_skill",
    "heldout_eval_set",
    "realm_skill",
    "to_chat_jsonl",
    "training_batch",
]
