"""Every shipped YAML under configs/ loads, and the checks that span files pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from realm_tui.config import (
    DEFAULT_HERO,
    CurriculumConfig,
    HeroConfig,
    MemoryProfile,
    TitlesConfig,
    hero_profile_problems,
    load_hero,
    load_model,
    load_realm_configs,
    validate_realm_configs,
)
from realm_tui.contract.protocol import TrainJob

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
HEROES = sorted((CONFIGS / "heroes").glob("*.yaml"))
PROFILES = sorted((CONFIGS / "memory_profiles").glob("*.yaml"))

SHIPPED_HEROES = {"dio-nano", "dio", "flo", "ojas"}
SHIPPED_PROFILES = {
    "24gb_full_small",
    "24gb_full_8bit_opt",
    "24gb_lora",
    "24gb_lora_paged",
    "24gb_galore",
    "24gb_qlora",
    "24gb_qlora_8bit_opt",
    "cpu_tiny",
    "cpu_lora",
    "cpu_qlora",
}


def test_the_shipped_set_is_complete() -> None:
    assert {p.stem for p in HEROES} >= SHIPPED_HEROES
    assert {p.stem for p in PROFILES} >= SHIPPED_PROFILES
    assert DEFAULT_HERO in SHIPPED_HEROES


@pytest.mark.parametrize("path", HEROES, ids=lambda p: p.stem)
def test_hero_loads(path: Path) -> None:
    hero = load_model(path, HeroConfig)
    assert hero.id == path.stem
    # The trainer child receives `model_dump()`; it validates back to the same hero.
    assert HeroConfig.model_validate(hero.model_dump()) == hero
    job = TrainJob(
        realm_root=".",
        hero_id=hero.id,
        hero=hero.model_dump(),
        quest_paths=(),
        checkpoints_dir=".",
        **hero.training_defaults.job_kwargs(),
    )
    assert job.learning_rate == hero.training_defaults.learning_rate


@pytest.mark.parametrize("path", HEROES, ids=lambda p: p.stem)
def test_every_shipped_hero_has_a_portrait(path: Path) -> None:
    """The Tavern shows it; a hero without one shows "(no portrait)"."""
    portrait = load_model(path, HeroConfig).portrait
    assert portrait and portrait.strip(), f"{path.name} has no portrait"
    lines = portrait.rstrip("\n").split("\n")
    assert len(lines) <= 12 and max(len(line) for line in lines) <= 24, f"{path.name}: portrait too big"


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.stem)
def test_memory_profile_loads(path: Path) -> None:
    assert load_model(path, MemoryProfile).id == path.stem


def test_titles_and_curriculum_load() -> None:
    titles = load_model(CONFIGS / "titles.yaml", TitlesConfig)
    assert len(titles.titles) >= 10
    assert load_model(CONFIGS / "curriculum.yaml", CurriculumConfig).enabled_skills()


def test_cross_file_checks_pass() -> None:
    assert [str(e) for e in validate_realm_configs(CONFIGS)] == []
    realm = load_realm_configs(CONFIGS)
    assert set(realm.heroes) == {p.stem for p in HEROES}
    for hero in realm.heroes.values():
        assert hero_profile_problems(hero, realm.profile_for(hero)) == []
        assert load_hero(CONFIGS, hero.id) == hero


def test_shipped_heroes_match_the_design() -> None:
    realm = load_realm_configs(CONFIGS)
    nano = realm.heroes["dio-nano"]
    assert nano.model.builder == "nano" and nano.memory_profile == "cpu_tiny"
    assert nano.model.nano is not None and nano.model.nano.hidden_size == 256
    assert nano.training_defaults.save_minutes == 2.0 and nano.portrait
    assert realm.heroes["dio"].model.hf_name == "Qwen/Qwen3-0.6B"
    assert realm.heroes["flo"].model.hf_name == "Qwen/Qwen3-4B"
    ojas = realm.heroes["ojas"]
    assert ojas.model.hf_name == "Qwen/Qwen3-8B"
    assert realm.profile_for(ojas).method == "qlora"
    assert (ojas.training_defaults.optimizer, ojas.training_defaults.batch_size) == ("paged_adamw_32bit", 1)
    assert (ojas.training_defaults.gradient_accumulation, ojas.training_defaults.max_length) == (8, 1024)


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.stem)
def test_each_gpu_profile_fits_its_vram_at_its_own_limits(path: Path) -> None:
    """By the VRAM calculator, the largest model a profile recommends trains at its batch and length
    limits within the profile's `vram_gb` (Qwen3's 152k vocabulary makes the logits dominate)."""
    from realm_tui.armory.profiles import arch_for_size, estimate_profile
    from realm_tui.armory.vram import GIB

    profile = load_model(path, MemoryProfile)
    if profile.is_cpu:
        pytest.skip("a CPU profile has no VRAM budget")
    sizes = profile.recommended_model_sizes_b
    for size in {sizes.max, *(s for s in (0.6, 4.0, 8.2) if sizes.covers(s))}:
        est = estimate_profile(arch_for_size(size), profile, profile.max_batch_size, profile.max_seq_length)
        assert est.total <= profile.vram_gb * GIB, (size, round(est.total / GIB, 1), profile.vram_gb)
    assert profile.vram_gb <= 22, "a 24 GB card needs some room for other processes and fragmentation"


def test_shipped_heroes_fit_their_profile_vram() -> None:
    from realm_tui.armory.vram import GIB, estimate_for

    realm = load_realm_configs(CONFIGS)
    for hero in realm.heroes.values():
        profile = realm.profile_for(hero)
        if not profile.is_cpu:
            assert estimate_for(hero, profile).total <= profile.vram_gb * GIB, hero.id
