"""Shared fixtures for the Armory tests: the shipped heroes and profiles, loaded once."""

from __future__ import annotations

from pathlib import Path

import pytest

from realm_tui.config.hero import HeroConfig
from realm_tui.config.loader import load_model
from realm_tui.config.memory_profile import MemoryProfile

CONFIGS = Path(__file__).resolve().parents[3] / "configs"


@pytest.fixture(scope="session")
def heroes() -> dict[str, HeroConfig]:
    return {p.stem: load_model(p, HeroConfig) for p in sorted((CONFIGS / "heroes").glob("*.yaml"))}


@pytest.fixture(scope="session")
def profiles() -> dict[str, MemoryProfile]:
    return {p.stem: load_model(p, MemoryProfile) for p in sorted((CONFIGS / "memory_profiles").glob("*.yaml"))}
