"""Architectures: parameter counts of the presets match the published models."""

from __future__ import annotations

import pytest

from realm_tui.armory.arch import (
    DIO_NANO,
    QWEN3_0_6B,
    QWEN3_4B,
    QWEN3_8B,
    ModelArch,
    nano_arch,
    preset,
)
from realm_tui.armory.hero_arch import arch_for_hero
from realm_tui.config.hero import HeroConfig


@pytest.mark.parametrize(
    ("arch", "total", "non_embedding"),
    [
        # Model cards: Qwen3-0.6B 0.6B (0.44B non-embedding), 4B 4.0B (3.6B), 8B 8.2B (6.95B).
        (QWEN3_0_6B, 0.596e9, 0.44e9),
        (QWEN3_4B, 4.02e9, 3.6e9),
        (QWEN3_8B, 8.19e9, 6.95e9),
    ],
)
def test_qwen3_presets_match_the_model_cards(arch: ModelArch, total: float, non_embedding: float) -> None:
    assert arch.total_params == pytest.approx(total, rel=0.01)
    assert arch.total_params - arch.embedding_params - arch.head_params == pytest.approx(non_embedding, rel=0.01)


def test_dio_nano_matches_the_built_model() -> None:
    # sum(p.numel() for p in build_model(NanoSpec(), build_tokenizer()).parameters()) == 3,016,448
    assert DIO_NANO.total_params == 3_016_448
    assert DIO_NANO.tie_word_embeddings


def test_arch_for_shipped_heroes(heroes: dict[str, HeroConfig]) -> None:
    assert arch_for_hero(heroes["dio"]) == QWEN3_0_6B
    assert arch_for_hero(heroes["flo"]) == QWEN3_4B
    assert arch_for_hero(heroes["ojas"]) == QWEN3_8B
    nano = arch_for_hero(heroes["dio-nano"])
    assert nano.total_params == DIO_NANO.total_params
    for hero in heroes.values():
        assert arch_for_hero(hero).total_params / 1e9 == pytest.approx(hero.model.size_b, rel=0.05)


def test_unknown_model_gets_an_approximate_shape(heroes: dict[str, HeroConfig]) -> None:
    data = heroes["dio"].model_dump()
    data["model"] = {"hf_name": "someone/mystery-7b", "size_b": 7.0}
    arch = arch_for_hero(HeroConfig.model_validate(data))
    assert arch.approximate
    assert arch.total_params == pytest.approx(7e9, rel=0.1)


@pytest.mark.parametrize("size", [0.5e9, 3e9, 13e9, 70e9])
def test_from_params_lands_near_the_size(size: float) -> None:
    arch = ModelArch.from_params(size)
    assert arch.total_params == pytest.approx(size, rel=0.15)
    assert arch.num_heads % arch.num_kv_heads == 0


def test_presets_by_name() -> None:
    assert preset("Qwen/Qwen3-8B") is QWEN3_8B
    assert preset("qwen3-4b") is QWEN3_4B
    with pytest.raises(KeyError, match="presets"):
        preset("llama-9000")


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="must divide"):
        ModelArch("x", 64, 2, 4, 3, 16, 128, 100)
    with pytest.raises(ValueError, match="positive"):
        ModelArch("x", 0, 2, 4, 2, 16, 128, 100)


def test_nano_vocab_choice() -> None:
    from realm_tui.config.hero import NanoSpec

    assert nano_arch(NanoSpec(vocab="bytes")).vocab_size == 259
