"""`realm validate`'s deeper check of a realm's skill configs: every level of every skill can be
built, and no level is easier than the one below.

It lives in skills/, above config/, because it builds the skills (`registry.build_skill`): config/
loads and cross-checks the YAML files alone and imports nothing of the packages that use them.
"""

from __future__ import annotations

from pathlib import Path

from realm_tui.config.realm_config import SKILLS_DIR
from realm_tui.config.skill import load_skills
from realm_tui.errors import ConfigError
from realm_tui.skills.checks import skill_problems
from realm_tui.skills.registry import build_skill


def skill_level_problems(configs_dir: Path | str) -> list[ConfigError]:
    """Skill configs that load but cannot serve every level: a level no problem can be built for
    (an SY level whose dials admit no puzzle with one answer), or a level easier than the one
    below. Slower than loading (it builds a few problems per level), so `realm validate` runs it
    and starting a game does not. Empty when the skills did not load (`validate_realm_configs`
    reports that)."""
    folder = Path(configs_dir) / SKILLS_DIR
    try:
        skills = load_skills(folder)
    except ConfigError:
        return []
    errors: list[ConfigError] = []
    for skill_id, config in skills.items():
        try:
            skill = build_skill(config)
        except ValueError as err:
            errors.append(ConfigError(folder / f"{skill_id}.yaml", str(err)))
            continue
        errors += [ConfigError(folder / f"{skill_id}.yaml", problem) for problem in skill_problems(skill)]
    return errors
