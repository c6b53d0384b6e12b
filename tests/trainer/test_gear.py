"""The armory in battle: every optimizer, LoRA / QLoRA / GaLore, checkpointing, attention, export."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

from realm_tui.contract.protocol import CheckpointSaved, Error, Log, Step, Stop
from realm_tui.trainer.control import ScriptedControl

CPU_OPTIMIZERS = ["adamw", "adamw_torch_fused", "adamw_8bit", "paged_adamw_32bit", "paged_adamw_8bit", "muon"]
GALORE = {
    "method": "galore",
    "galore": {"rank": 8, "update_proj_gap": 4, "scale": 1.0, "target_modules": ["attn", "mlp"]},
}
LORA = {"method": "lora", "lora": {"r": 4, "alpha": 8.0, "dropout": 0.1}, "gradient_checkpointing": True}
QLORA = {
    "method": "qlora",
    "lora": {"r": 4, "alpha": 8.0, "dropout": 0.0, "target_modules": ["all-linear"]},
    "quantization": {"mode": "4bit", "bnb_4bit_quant_type": "nf4", "double_quant": True, "compute_dtype": "bf16"},
    "gradient_checkpointing": True,
}


def losses(events: Any) -> list[float]:
    return [e.loss for e in events.of(Step)]


def logs(events: Any) -> str:
    return "\n".join(e.message for e in events.of(Log))


def weights(checkpoint: str, adapter: bool = False) -> dict[str, torch.Tensor]:
    name = "adapter_model.safetensors" if adapter else "model.safetensors"
    return load_file(str(Path(checkpoint) / name))


def falls(events: Any, factor: float) -> None:
    values = losses(events)
    first, last = sum(values[:3]) / 3, sum(values[-3:]) / 3
    assert last < factor * first, (first, last)


@pytest.mark.parametrize("optimizer", [*CPU_OPTIMIZERS, "galore_adamw"])
def test_each_cpu_optimizer_trains_the_tiny_hero(make_job, battle, optimizer: str) -> None:
    profile = GALORE if optimizer.startswith("galore") else {}
    stopped, events = battle(make_job(optimizer=optimizer, memory_profile=profile, max_steps=16, batch_size=8))
    assert stopped.reason == "finished", [e.message for e in events.of(Error)]
    falls(events, 0.75)
    if optimizer == "muon":
        assert "optimizer muon: muon trains" in logs(events)
    if optimizer == "galore_adamw":
        state = torch.load(Path(stopped.checkpoint) / "trainer_state.pt", weights_only=True)
        assert state["optimizer"]["param_groups"][0]["rank"] == 8


@pytest.mark.skipif(not torch.cuda.is_available(), reason="galore_adamw_8bit: galore-torch's 8-bit step needs CUDA")
def test_galore_8bit_trains_on_cuda(make_job, battle) -> None:
    stopped, events = battle(make_job(optimizer="galore_adamw_8bit", memory_profile=GALORE, max_steps=12))
    assert stopped.reason == "finished"
    falls(events, 0.9)


def test_galore_8bit_on_cpu_is_a_clear_error(make_job, battle) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    stopped, events = battle(make_job(optimizer="galore_adamw_8bit", memory_profile=GALORE, max_steps=2))
    (error,) = events.of(Error)
    assert error.kind == "bad_input" and "needs CUDA" in error.message and stopped.reason == "error"


@pytest.mark.parametrize(
    ("optimizer", "profile"),
    [("adamw_8bit", {}), ("muon", {}), ("galore_adamw", GALORE), ("adamw", LORA), ("paged_adamw_32bit", QLORA)],
    ids=["adamw_8bit", "muon", "galore_adamw", "lora", "qlora"],
)
def test_resume_is_exact_for(make_job, battle, tmp_path: Path, optimizer: str, profile: dict[str, Any]) -> None:
    common = dict(optimizer=optimizer, memory_profile=profile, max_steps=8, batch_size=3, grad_accum=2)
    straight_stop, straight = battle(make_job(**common, checkpoints_dir=str(tmp_path / "a")))
    first_stop, first = battle(make_job(**common, checkpoints_dir=str(tmp_path / "b")), ScriptedControl({4: [Stop()]}))
    assert first_stop.step == 4
    resumed_stop, resumed = battle(
        make_job(**common, checkpoints_dir=str(tmp_path / "b"), resume_from=first_stop.checkpoint)
    )
    assert [s.step for s in resumed.of(Step)] == [5, 6, 7, 8]
    assert losses(first) + losses(resumed) == pytest.approx(losses(straight), abs=1e-5, rel=0)
    adapter = profile.get("method") in ("lora", "qlora")
    a, b = weights(straight_stop.checkpoint, adapter), weights(resumed_stop.checkpoint, adapter)
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], atol=1e-5, rtol=0)


def test_qlora_trains_on_a_4bit_base_and_saves_an_adapter(make_job, battle) -> None:
    pytest.importorskip("bitsandbytes")
    stopped, events = battle(make_job(memory_profile=QLORA, max_steps=12, batch_size=8, learning_rate=3e-2))
    assert stopped.reason == "finished", [e.message for e in events.of(Error)]
    values = losses(events)  # adapters on a random tiny base learn slowly: 7.6 → ~7.0 here
    assert values[-1] < values[0] - 0.3, values
    saved = events.of(CheckpointSaved)[-1]
    assert saved.adapter and (Path(saved.path) / "adapter_model.safetensors").is_file()
    assert not (Path(saved.path) / "model.safetensors").exists()
    text = logs(events)
    assert "4bit base weights (bitsandbytes)" in text and "gradient checkpointing on" in text


def test_attention_is_said_in_the_log(make_job, battle) -> None:
    _, events = battle(make_job(max_steps=1, memory_profile={"method": "full", "attention": "flash_attention_2"}))
    text = logs(events)
    if torch.cuda.is_available():
        assert "attention: flash_attention_2" in text or "flash-attn is not installed" in text
    else:
        assert "sdpa instead of flash_attention_2 (it needs a CUDA GPU)" in text and "attention: sdpa" in text


def test_gradient_checkpointing_gives_the_same_steps(make_job, battle, tmp_path: Path) -> None:
    _, plain = battle(make_job(max_steps=3, checkpoints_dir=str(tmp_path / "a")))
    _, checkpointed = battle(
        make_job(max_steps=3, memory_profile={"gradient_checkpointing": True}, checkpoints_dir=str(tmp_path / "b"))
    )
    assert "gradient checkpointing on" in logs(checkpointed)
    assert losses(checkpointed) == pytest.approx(losses(plain), abs=1e-5, rel=0)


def test_method_and_optimizer_mismatch_is_refused(make_job, battle) -> None:
    stopped, events = battle(make_job(optimizer="galore_adamw", memory_profile=LORA, max_steps=1))
    (error,) = events.of(Error)
    assert error.kind == "bad_input" and "cannot train LoRA adapters" in error.message


# ---------------------------------------------------------------- export


def test_export_copies_a_full_checkpoint(make_job, battle, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    from realm_tui.trainer.entry.export import export_checkpoint

    stopped, _ = battle(make_job(max_steps=2))
    out = export_checkpoint(stopped.checkpoint, tmp_path / "export" / "full", merge=True)
    names = {p.name for p in out.iterdir()}
    assert "model.safetensors" in names and "config.json" in names and "tokenizer.json" in names
    assert "trainer_state.pt" not in names and "manifest.json" not in names
    model = AutoModelForCausalLM.from_pretrained(out, use_safetensors=True)
    saved = weights(stopped.checkpoint)
    for name, tensor in saved.items():
        torch.testing.assert_close(model.state_dict()[name], tensor)
    with pytest.raises(Exception, match="not empty"):
        export_checkpoint(stopped.checkpoint, out, merge=True)


def test_export_merges_a_lora_adapter(make_job, battle, tmp_path: Path) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from realm_tui.trainer.entry.export import adapter_base, export_checkpoint

    profile = {**LORA, "lora": {"r": 4, "alpha": 8.0, "dropout": 0.0}, "gradient_checkpointing": False}
    stopped, _ = battle(make_job(max_steps=3, memory_profile=profile, learning_rate=2e-2))
    merged_dir = export_checkpoint(stopped.checkpoint, tmp_path / "merged", merge=True)
    adapter_dir = export_checkpoint(stopped.checkpoint, tmp_path / "adapter", merge=False)
    assert (adapter_dir / "adapter_model.safetensors").is_file() and not (adapter_dir / "model.safetensors").exists()
    assert (merged_dir / "model.safetensors").is_file() and not (merged_dir / "adapter_config.json").exists()

    merged = AutoModelForCausalLM.from_pretrained(merged_dir, use_safetensors=True).eval()
    base = AutoModelForCausalLM.from_pretrained(adapter_base(Path(stopped.checkpoint)), use_safetensors=True)
    with_adapter = PeftModel.from_pretrained(base, stopped.checkpoint).eval()
    ids = torch.tensor([[5, 17, 42, 99, 7, 3]])
    with torch.no_grad():
        expected = with_adapter(input_ids=ids).logits
        got = merged(input_ids=ids).logits
        plain = base.get_base_model()(input_ids=ids).logits if hasattr(base, "get_base_model") else None
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)
    assert plain is None or not torch.allclose(plain, got)


def test_the_child_rechecks_the_knobs_before_loading_weights(make_job, battle) -> None:
    """A job built by the parent (validated hero and profile) is re-checked on the training machine."""
    import yaml
    from trainer_testkit import TINY_NANO

    from realm_tui.config.hero import HeroConfig
    from realm_tui.config.memory_profile import MemoryProfile
    from realm_tui.contract.protocol import Hello

    configs = Path(__file__).resolve().parents[2] / "configs"
    hero = yaml.safe_load((configs / "heroes" / "dio-nano.yaml").read_text())
    hero["model"]["nano"].update(TINY_NANO)
    hero["training_defaults"]["max_length"] = 128  # within TINY_NANO's 512 positions
    hero_dump = HeroConfig.model_validate({**hero, "id": "tiny"}).model_dump(mode="json")
    qlora = MemoryProfile.model_validate(yaml.safe_load((configs / "memory_profiles" / "24gb_qlora.yaml").read_text()))
    job = make_job(hero=hero_dump, memory_profile=qlora.model_dump(mode="json"), batch_size=1, max_length=128)
    stopped, events = battle(job)
    if torch.cuda.is_available():
        pytest.skip("on a CUDA machine QLoRA may be allowed")
    (error,) = events.of(Error)
    assert error.kind == "bad_input" and "hero tiny: memory profile 24gb_qlora stores QLoRA" in error.message
    assert not events.of(Hello) and stopped.reason == "error"
