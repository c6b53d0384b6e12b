"""A hero's architecture for the calculator: its nano spec, its folder's config.json, a preset, or
a guess from its size (in that order). Here, not in `arch`, because it reads the hero's files
(`hero_files`), which build on `arch`'s shapes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from realm_tui.armory.arch import PRESETS, ModelArch, nano_arch
from realm_tui.armory.hero_files import arch_from_folder, hero_folder

if TYPE_CHECKING:
    from realm_tui.config.hero import HeroConfig


def arch_for_hero(hero: HeroConfig, realm_root: Path | None = None) -> ModelArch:
    """The hero's architecture: its nano spec; else the config.json of its folder on disk (a local
    path, or the hub cache for a hub id); else a preset matching `hf_name`; else a guess from
    `size_b` (marked `approximate`). `source` says which."""
    model = hero.model
    if model.builder == "nano":
        return nano_arch(model.nano, name=hero.id)
    if model.hf_name:
        folder = hero_folder(model.hf_name, realm_root)
        if folder is not None:
            try:
                return arch_from_folder(folder, model.hf_name)
            except ValueError:
                pass  # a broken folder is refused before a battle (hero_folder_problems); estimate anyway
        tail = model.hf_name.rstrip("/").split("/")[-1].lower()
        for arch in PRESETS.values():
            if arch.name.split("/")[-1].lower() == tail:
                return arch
    return ModelArch.from_params(model.size_b * 1e9, name=model.hf_name or hero.id)
