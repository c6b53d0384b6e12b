"""Helpers shared by the progression tests (a uniquely named module, importable from test files)."""

from __future__ import annotations

from typing import Any

from realm_tui.battle.progression import ProgressionKeeper, SkillRule
from realm_tui.config.curriculum import CurriculumConfig
from realm_tui.store import Store


def keeper_for(store: Store, **curriculum: Any) -> ProgressionKeeper:
    """The keeper of campaign `c1` with BIN (levels 1-30) in its curriculum, plus `curriculum` keys."""
    config = CurriculumConfig.model_validate({"skills": {"bin": {"weight": 1.0}}, **curriculum})
    return ProgressionKeeper(store, "c1", {"bin": SkillRule(max_level=30)}, config)
