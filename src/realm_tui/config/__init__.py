"""Pydantic models for every YAML file in a realm's `configs/` folder, and their safe loading.

Imports only pydantic and yaml: no torch, transformers or textual.
"""

from realm_tui.config.curriculum import CurriculumConfig
from realm_tui.config.hero import HeroConfig, TrainingDefaults
from realm_tui.config.loader import ExactModel, StrictModel, load_model, read_yaml
from realm_tui.config.memory_profile import MemoryProfile, NoProfileFits, suggest_profile
from realm_tui.config.realm_config import (
    DEFAULT_HERO,
    RealmConfigs,
    hero_profile_problems,
    load_hero,
    load_memory_profile,
    load_realm_configs,
    validate_realm_configs,
)
from realm_tui.config.titles import TitlesConfig

__all__ = [
    "DEFAULT_HERO",
    "CurriculumConfig",
    "ExactModel",
    "HeroConfig",
    "MemoryProfile",
    "NoProfileFits",
    "RealmConfigs",
    "StrictModel",
    "TitlesConfig",
    "TrainingDefaults",
    "hero_profile_problems",
    "load_hero",
    "load_memory_profile",
    "load_model",
    "load_realm_configs",
    "read_yaml",
    "suggest_profile",
    "validate_realm_configs",
]
