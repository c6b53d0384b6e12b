"""MemoryProfile rules and suggest_profile choices."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from realm_tui.config.loader import format_validation_error, load_model
from realm_tui.config.memory_profile import MemoryProfile, NoProfileFits, suggest_profile
from realm_tui.errors import InputError

PROFILE_DIR = Path(__file__).resolve().parents[3] / "configs" / "memory_profiles"
SHIPPED = {p.stem: load_model(p, MemoryProfile) for p in sorted(PROFILE_DIR.glob("*.yaml"))}
LORA = {"r": 8, "alpha": 16, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"]}


def profile(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "test",
        "method": "full",
        "optimizer": "adamw",
        "max_batch_size": 4,
        "max_seq_length": 1024,
        "recommended_model_sizes_b": {"min": 0.1, "max": 2.0},
        "vram_gb": 20,
    }
    data.update(changes)
    return data


def problem(data: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as info:
        MemoryProfile.model_validate(data)
    return format_validation_error(info.value)


def test_valid_profiles() -> None:
    MemoryProfile.model_validate(profile())
    MemoryProfile.model_validate(profile(method="lora", lora=LORA))
    MemoryProfile.model_validate(profile(method="lora", lora=LORA, quantization={"mode": "8bit"}))
    MemoryProfile.model_validate(
        profile(method="qlora", lora=LORA, quantization={"mode": "4bit"}, optimizer="paged_adamw_8bit")
    )
    cfg = MemoryProfile.model_validate(profile(method="galore", galore={}, optimizer="galore_adamw"))
    assert cfg.galore is not None and cfg.galore.rank == 128
    pair = MemoryProfile.model_validate(profile(recommended_model_sizes_b=[0.5, 4]))
    assert (pair.recommended_model_sizes_b.min, pair.recommended_model_sizes_b.max) == (0.5, 4.0)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"method": "lora"}, "lora: required for method lora"),
        ({"method": "qlora", "quantization": {"mode": "4bit"}}, "lora: required for method qlora"),
        ({"lora": LORA}, "lora: only allowed with method lora or qlora"),
        ({"method": "qlora", "lora": LORA}, "quantization.mode: method qlora needs 4bit"),
        ({"method": "lora", "lora": LORA, "quantization": {"mode": "4bit"}}, "is method qlora"),
        ({"quantization": {"mode": "8bit"}}, "quantization.mode: must be none for method full"),
        ({"method": "galore", "optimizer": "galore_adamw"}, "galore: required for method galore"),
        ({"galore": {}}, "galore: only allowed with method galore"),
        ({"method": "galore", "galore": {}, "optimizer": "adamw"}, "optimizer: method galore needs galore_"),
        ({"optimizer": "galore_adamw_8bit"}, "optimizer: optimizer galore_adamw_8bit needs method galore"),
        ({"method": "lora", "lora": LORA, "optimizer": "muon"}, "optimizer: optimizer muon"),
        ({"vram_gb": 0, "attention": "flash_attention_2"}, "attention: flash_attention_2 needs a GPU"),
        (
            {"recommended_model_sizes_b": {"min": 5, "max": 1}},
            "recommended_model_sizes_b: min (5.0) is larger",
        ),
        ({"recommended_model_sizes_b": [1, 2, 3]}, "recommended_model_sizes_b"),
        (
            {"quantization": {"mode": "4bit", "bnb_4bit_quant_type": "int4"}},
            "quantization.bnb_4bit_quant_type",
        ),
        ({"attention": "flex"}, "attention"),
        ({"max_batch_size": 0}, "max_batch_size"),
        ({"vram_gb": -1}, "vram_gb"),
        ({"method": "lora", "lora": {**LORA, "target_modules": []}}, "lora.target_modules"),
        ({"method": "lora", "lora": {**LORA, "rank": 8}}, "lora.rank: unknown key"),
    ],
)
def test_profile_rules(changes: dict[str, Any], expected: str) -> None:
    assert expected in problem(profile(**changes))


# ---------------------------------------------------------------- suggest_profile


def test_eight_billion_on_24gb_is_qlora() -> None:
    for size in (7.0, 8.0, 8.2):
        chosen = suggest_profile(size, 24, SHIPPED)
        assert chosen.method == "qlora" and chosen.id == "24gb_qlora"


def test_small_model_on_24gb_trains_in_full() -> None:
    chosen = suggest_profile(0.6, 24, SHIPPED)
    assert chosen.method == "full" and chosen.id == "24gb_full_small"


def test_nano_on_cpu_is_cpu_tiny() -> None:
    assert suggest_profile(0.003, 0, SHIPPED).id == "cpu_tiny"


def test_real_size_hero_on_cpu_gets_cpu_lora() -> None:
    chosen = suggest_profile(0.6, 0, SHIPPED)
    assert chosen.id == "cpu_lora" and chosen.attention == "sdpa" and chosen.gradient_checkpointing
    assert chosen.optimizer in ("adamw", "adamw_8bit") and chosen.is_cpu


def test_nano_on_a_gpu_uses_a_gpu_profile() -> None:
    chosen = suggest_profile(0.003, 24, SHIPPED)
    assert chosen.method == "full" and not chosen.is_cpu


def test_four_billion_uses_adapters_unless_galore_is_preferred() -> None:
    assert suggest_profile(4.0, 24, SHIPPED).method == "lora"
    assert suggest_profile(4.0, 24, SHIPPED, prefer="galore").id == "24gb_galore"
    # Whole-model GaLore cannot fit an 8B model in 24 GB (the calculator): the preference falls back.
    assert suggest_profile(8.0, 24, SHIPPED, prefer="galore").id == "24gb_qlora"


def test_preference_falls_back_when_nothing_uses_that_method() -> None:
    assert suggest_profile(0.003, 0, SHIPPED, prefer="qlora").id == "cpu_tiny"


def test_choice_does_not_depend_on_mapping_order() -> None:
    backwards = dict(reversed(list(SHIPPED.items())))
    for size, vram in ((0.6, 24), (4.0, 24), (8.0, 24), (12.0, 24), (0.003, 0), (0.003, 80)):
        assert suggest_profile(size, vram, backwards).id == suggest_profile(size, vram, SHIPPED).id


@pytest.mark.parametrize(
    ("size", "vram", "expected"),
    [
        (70.0, 24, "no profile is meant for this size"),
        (8.0, 8, "need more memory: 24gb_qlora, 24gb_qlora_8bit_opt"),
        (12.0, 0, "on a CPU"),
    ],
)
def test_impossible_requests_say_why(size: float, vram: float, expected: str) -> None:
    with pytest.raises(NoProfileFits) as info:
        suggest_profile(size, vram, SHIPPED)
    assert expected in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("size", "vram", "prefer"), [(0.0, 24, None), (-1.0, 24, None), (1.0, -1, None), (1.0, 24, "dpo")]
)
def test_bad_arguments(size: float, vram: float, prefer: str | None) -> None:
    with pytest.raises(InputError):
        suggest_profile(size, vram, SHIPPED, prefer=prefer)


def test_no_profiles_at_all() -> None:
    with pytest.raises(NoProfileFits):
        suggest_profile(1.0, 24, {})


def test_a_large_hero_on_cpu_gets_cpu_qlora() -> None:
    # cpu_lora covers up to 2B; past it a 4-bit base is what fits in a CPU machine's RAM.
    chosen = suggest_profile(4.0, 0, SHIPPED)
    assert chosen.id == "cpu_qlora" and chosen.is_cpu and chosen.quantization.mode == "4bit"
