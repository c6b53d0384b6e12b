"""Knob validation: every combination that cannot work is refused with a message saying what to change."""

from __future__ import annotations

from typing import Any

import pytest

from realm_tui.armory.knobs import Environment, assess_knobs, check_knobs
from realm_tui.config.hero import HeroConfig
from realm_tui.config.memory_profile import MemoryProfile
from realm_tui.trainer.environment import detect_environment

GPU = {"cuda_available": True, "bnb_cuda": True, "flash_attn_installed": True}
CPU = {"cuda_available": False, "bnb_cuda": False, "flash_attn_installed": False}


def changed(model: Any, **updates: Any) -> Any:
    """A copy of a frozen config model with some fields (dotted for nested ones) replaced."""
    data = model.model_dump()
    for key, value in updates.items():
        target = data
        *path, last = key.split(".")
        for part in path:
            target = target[part]
        target[last] = value
    return type(model).model_validate(data)


def one(problems: list[str], *words: str) -> str:
    hits = [p for p in problems if all(w in p for w in words)]
    assert len(hits) == 1, problems
    return hits[0]


def test_shipped_heroes_pass_on_a_gpu(heroes: dict[str, HeroConfig], profiles: dict[str, MemoryProfile]) -> None:
    for hero in heroes.values():
        assert check_knobs(hero, profiles[hero.memory_profile], **GPU) == [], hero.id


def test_dio_nano_passes_on_a_cpu(heroes: dict[str, HeroConfig], profiles: dict[str, MemoryProfile]) -> None:
    assert check_knobs(heroes["dio-nano"], profiles["cpu_tiny"], **CPU) == []


def test_qlora_needs_bitsandbytes_cuda(heroes: dict[str, HeroConfig], profiles: dict[str, MemoryProfile]) -> None:
    ojas, qlora = heroes["ojas"], profiles["24gb_qlora"]
    msg = one(check_knobs(ojas, qlora, cuda_available=True, bnb_cuda=False, flash_attn_installed=True), "QLoRA")
    assert "bitsandbytes with CUDA" in msg and "profile without quantization" in msg
    msg = one(check_knobs(ojas, qlora, **GPU, bnb_installed=False), "QLoRA")
    assert "pip install bitsandbytes" in msg
    on_cpu = check_knobs(ojas, qlora, **CPU)
    assert "no CUDA GPU" in one(on_cpu, "QLoRA")
    assert "sdpa" in one(on_cpu, "flash_attention_2")


def test_galore_with_lora_is_refused(heroes: dict[str, HeroConfig], profiles: dict[str, MemoryProfile]) -> None:
    msg = one(check_knobs(heroes["dio"], profiles["24gb_lora"], **GPU, optimizer="galore_adamw"), "LoRA")
    assert "GaLore profile" in msg
    msg = one(check_knobs(heroes["dio"], profiles["24gb_full_small"], **GPU, optimizer="galore_adamw"), "GaLore")
    assert "method full" in msg
    msg = one(check_knobs(heroes["flo"], profiles["24gb_galore"], **GPU, optimizer="adamw"), "method galore")
    assert "galore_adamw" in msg


def test_flash_attention(heroes: dict[str, HeroConfig], profiles: dict[str, MemoryProfile]) -> None:
    dio, full = heroes["dio"], profiles["24gb_full_small"]
    assert "CUDA GPUs only" in one(check_knobs(dio, full, **CPU), "flash_attention_2")
    report = assess_knobs(dio, full, cuda_available=True, bnb_cuda=True, flash_attn_installed=False)
    assert report.ok
    assert any("falls back to sdpa" in n for n in report.notes)


def test_limits_of_the_profile(heroes: dict[str, HeroConfig], profiles: dict[str, MemoryProfile]) -> None:
    ojas, qlora = heroes["ojas"], profiles["24gb_qlora"]
    msg = one(check_knobs(ojas, qlora, **GPU, batch_size=8), "batch size 8")
    assert f"max_batch_size {qlora.max_batch_size}" in msg and "gradient accumulation" in msg
    assert "max_seq_length" in one(check_knobs(ojas, qlora, **GPU, seq_len=8192), "sequence length")
    assert "max_grad_accum" in one(check_knobs(ojas, qlora, **GPU, grad_accum=65), "accumulation 65")
    assert check_knobs(ojas, qlora, **GPU, batch_size=qlora.max_batch_size, seq_len=qlora.max_seq_length) == []


def test_paged_optimizers_step_on_a_cpu(heroes: dict[str, HeroConfig], profiles: dict[str, MemoryProfile]) -> None:
    nano, tiny = heroes["dio-nano"], profiles["cpu_tiny"]
    for name in ("paged_adamw_32bit", "paged_adamw_8bit", "adamw_8bit"):
        report = assess_knobs(nano, tiny, **CPU, optimizer=name)
        assert report.ok, report.problems
        assert any("CPU tensors" in n for n in report.notes)
        assert "bitsandbytes" in one(check_knobs(nano, tiny, **CPU, optimizer=name, bnb_installed=False), name)


def test_galore_8bit_needs_cuda(heroes: dict[str, HeroConfig], profiles: dict[str, MemoryProfile]) -> None:
    galore_cpu = changed(profiles["24gb_galore"], vram_gb=0, attention="sdpa", max_batch_size=64, max_seq_length=1024)
    nano = heroes["dio-nano"]
    assert "galore_adamw" in one(check_knobs(nano, galore_cpu, **CPU, optimizer="galore_adamw_8bit"), "needs CUDA")
    assert check_knobs(nano, galore_cpu, **CPU, optimizer="galore_adamw") == []
    assert "galore-torch" in one(
        check_knobs(nano, galore_cpu, **CPU, optimizer="galore_adamw", galore_installed=False), "galore"
    )


def test_muon(heroes: dict[str, HeroConfig], profiles: dict[str, MemoryProfile]) -> None:
    nano, tiny = heroes["dio-nano"], profiles["cpu_tiny"]
    report = assess_knobs(nano, tiny, **CPU, optimizer="muon")
    assert report.ok
    assert any("AdamW" in n for n in report.notes)  # non-2-D parameters are handled, not refused
    assert "torch" in one(check_knobs(nano, tiny, **CPU, optimizer="muon", muon_available=False), "Muon")
    assert "method full" in one(check_knobs(heroes["dio"], profiles["24gb_lora"], **GPU, optimizer="muon"), "muon")


def test_fused_adamw_on_a_cpu_is_a_note(heroes: dict[str, HeroConfig], profiles: dict[str, MemoryProfile]) -> None:
    report = assess_knobs(heroes["dio-nano"], profiles["cpu_tiny"], **CPU, optimizer="adamw_torch_fused")
    assert report.ok
    assert any("foreach" in n for n in report.notes)


def test_bf16_needs_a_bf16_gpu(heroes: dict[str, HeroConfig], profiles: dict[str, MemoryProfile]) -> None:
    msg = one(check_knobs(heroes["dio"], profiles["24gb_full_small"], **GPU, bf16_supported=False), "bf16")
    assert "fp32" in msg


def test_unknown_lora_targets(heroes: dict[str, HeroConfig], profiles: dict[str, MemoryProfile]) -> None:
    bad = changed(profiles["24gb_lora"], **{"lora.target_modules": ["c_attn"]})
    assert "all-linear" in one(check_knobs(heroes["dio"], bad, **GPU), "target_modules")


def test_too_big_for_the_gpu(heroes: dict[str, HeroConfig], profiles: dict[str, MemoryProfile]) -> None:
    ojas, qlora = heroes["ojas"], profiles["24gb_qlora"]
    assert check_knobs(ojas, qlora, **GPU, vram_bytes=24 << 30) == []
    msg = one(check_knobs(ojas, qlora, **GPU, vram_bytes=6 << 30), "GiB")
    assert "lower the batch size" in msg


def test_environment_on_this_machine() -> None:
    env = detect_environment()
    assert isinstance(env, Environment)
    assert env.muon_available  # torch 2.13 has torch.optim.Muon
    assert env.galore_installed and env.bnb_installed
    if not env.cuda_available:
        assert not env.bnb_cuda and env.vram_bytes is None
    assert set(env.as_kwargs()) >= {"cuda_available", "bnb_cuda", "flash_attn_installed"}


@pytest.mark.parametrize("name", ["adamw", "adamw_torch_fused", "muon"])
def test_every_problem_names_a_fix(
    name: str, heroes: dict[str, HeroConfig], profiles: dict[str, MemoryProfile]
) -> None:
    problems = check_knobs(heroes["ojas"], profiles["24gb_galore"], **CPU, optimizer=name, batch_size=99)
    assert problems
    for problem in problems:
        assert any(w in problem for w in ("use", "pick", "lower", "set", "pip install", "upgrade", "needs")), problem


def test_cpu_qlora_takes_the_bitsandbytes_cpu_path(
    heroes: dict[str, HeroConfig], profiles: dict[str, MemoryProfile]
) -> None:
    # Issue 19: a 4-bit base on a machine without a GPU, through a CPU profile: allowed with a note.
    report = assess_knobs(heroes["dio"], profiles["cpu_qlora"], **CPU)
    assert report.problems == [] and any("CPU path" in note for note in report.notes)
    # The same profile where a GPU is present but bitsandbytes lacks CUDA is still refused.
    gpu_no_bnb = check_knobs(
        heroes["dio"], profiles["cpu_qlora"], cuda_available=True, bnb_cuda=False, flash_attn_installed=True
    )
    assert "bitsandbytes with CUDA" in one(gpu_no_bnb, "QLoRA")
