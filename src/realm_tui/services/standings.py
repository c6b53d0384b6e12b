"""Where each skill stands: mastered level, training level and the level-up decision, judged as the
progression keeper judges (only evals graded by today's generator count). `realm skills` and the
Guild both show these, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from realm_tui.config.realm_config import RealmConfigs
from realm_tui.config.skill import SkillConfig
from realm_tui.rules import LevelDecision, decide_level_up, training_level
from realm_tui.skills.versions import is_current
from realm_tui.store import EvalRecord


@dataclass(frozen=True)
class SkillStanding:
    skill: str
    config: SkillConfig
    mastered: int
    training_level: int
    at_level: tuple[float, ...]
    """Accuracies of the current-version evals at the training level, oldest first."""
    decision: LevelDecision


def skill_standings(
    configs: RealmConfigs, skill_levels: Mapping[str, int], evals: Sequence[EvalRecord]
) -> list[SkillStanding]:
    """Every configured skill, in the configs' order."""
    standings = []
    for sid, cfg in configs.skills.items():
        config: SkillConfig = cfg
        mastered = skill_levels.get(sid, 0)
        level = training_level(min(mastered, config.max_level), config.max_level)
        at_level = tuple(e.accuracy for e in evals if e.skill == sid and e.level == level and is_current(e))
        decision = decide_level_up(at_level, threshold=config.threshold, min_evals=config.min_evals)
        standings.append(SkillStanding(sid, config, mastered, level, at_level, decision))
    return standings
