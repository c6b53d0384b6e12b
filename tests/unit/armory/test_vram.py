"""The VRAM calculator: each component follows its formula, and the knobs move it the right way."""

from __future__ import annotations

import pytest

from realm_tui.armory.activations import tokens_per_pass
from realm_tui.armory.arch import DIO_NANO, QWEN3_0_6B, QWEN3_8B
from realm_tui.armory.vram import (
    CPU_PROCESS_BYTES,
    CUDA_CONTEXT_BYTES,
    GIB,
    NF4_BITS,
    NF4_DOUBLE_QUANT_BITS,
    estimate_for,
    estimate_vram,
    lora_modules,
    lora_params,
)
from realm_tui.config.hero import HeroConfig
from realm_tui.config.memory_profile import MemoryProfile

N = QWEN3_0_6B.total_params


def test_full_fp32_adamw_is_sixteen_bytes_per_parameter() -> None:
    est = estimate_vram(QWEN3_0_6B, method="full", optimizer="adamw", precision="fp32")
    assert est.weights == 4 * N
    assert est.gradients == 4 * N
    assert est.optimizer_state == 8 * N
    assert est.trainable_params == N
    assert est.total == est.weights + est.gradients + est.optimizer_state + est.activations + est.overhead


def test_precisions() -> None:
    pure = estimate_vram(QWEN3_0_6B, precision="bf16")
    master = estimate_vram(QWEN3_0_6B, precision="bf16_master")
    amp = estimate_vram(QWEN3_0_6B, precision="amp_bf16")
    assert (pure.weights, pure.gradients, pure.optimizer_state) == (2 * N, 2 * N, 4 * N)
    assert (master.weights, master.gradients, master.optimizer_state) == (2 * N, 2 * N, 12 * N)  # + fp32 master
    assert (amp.weights, amp.gradients, amp.optimizer_state) == (4 * N, 4 * N, 8 * N)
    with pytest.raises(ValueError, match="precision"):
        estimate_vram(QWEN3_0_6B, precision="fp16")  # type: ignore[arg-type]


def test_lora_trains_adapters_only() -> None:
    est = estimate_vram(QWEN3_8B, method="lora", lora_r=16)
    # r·(in+out) per adapted linear per layer: 43.6M for Qwen3-8B at r=16 on all seven projections
    assert est.trainable_params == lora_params(QWEN3_8B, 16, lora_modules(["all-linear"])) == 43_646_976
    assert est.gradients == 4 * est.trainable_params  # fp32 adapters
    assert est.optimizer_state == 8 * est.trainable_params
    assert est.weights == 2 * QWEN3_8B.total_params + 4 * est.trainable_params
    fewer = estimate_vram(QWEN3_8B, method="lora", lora_r=16, lora_targets=["q_proj", "v_proj"])
    assert fewer.trainable_params < est.trainable_params


def test_qlora_stores_decoder_weights_in_four_bits() -> None:
    double = estimate_vram(QWEN3_8B, method="qlora", double_quant=True)
    single = estimate_vram(QWEN3_8B, method="qlora", double_quant=False)
    adapters = 4 * double.trainable_params
    assert double.weights == pytest.approx(
        QWEN3_8B.linear_params * NF4_DOUBLE_QUANT_BITS / 8 + 2 * QWEN3_8B.other_params + adapters, abs=1
    )
    assert single.weights - double.weights == pytest.approx(QWEN3_8B.linear_params * (NF4_BITS - 4.127) / 8, rel=0.01)
    assert pytest.approx(4.127, abs=1e-3) == NF4_DOUBLE_QUANT_BITS  # QLoRA paper: 0.127 bits of constants
    eight = estimate_vram(QWEN3_8B, method="lora", quantization="8bit")
    assert double.weights < eight.weights < estimate_vram(QWEN3_8B, method="lora").weights


def test_eight_bit_optimizer_state_is_about_a_quarter() -> None:
    fp32 = estimate_vram(QWEN3_0_6B, precision="amp_bf16", optimizer="adamw")
    q8 = estimate_vram(QWEN3_0_6B, precision="amp_bf16", optimizer="adamw_8bit")
    assert q8.optimizer_state / fp32.optimizer_state == pytest.approx(2.03 / 8, rel=0.02)


def test_paged_state_is_reported_cpu_side() -> None:
    plain = estimate_vram(QWEN3_8B, method="qlora", optimizer="adamw")
    paged = estimate_vram(QWEN3_8B, method="qlora", optimizer="paged_adamw_32bit")
    assert paged.optimizer_state == 0
    assert paged.cpu_offload == plain.optimizer_state
    assert paged.total < plain.total
    assert any("paged" in n for n in paged.notes)
    paged8 = estimate_vram(QWEN3_8B, method="qlora", optimizer="paged_adamw_8bit")
    assert 0 < paged8.cpu_offload < paged.cpu_offload


def test_galore_projects_the_state() -> None:
    adamw = estimate_vram(QWEN3_8B, method="full", optimizer="adamw")
    galore = estimate_vram(QWEN3_8B, method="galore", optimizer="galore_adamw", galore_rank=128)
    galore8 = estimate_vram(QWEN3_8B, method="galore", optimizer="galore_adamw_8bit", galore_rank=128)
    assert galore.gradients == adamw.gradients  # full gradients still exist
    assert galore8.optimizer_state < galore.optimizer_state < 0.35 * adamw.optimizer_state
    wider = estimate_vram(QWEN3_8B, method="galore", optimizer="galore_adamw", galore_rank=512)
    assert wider.optimizer_state > galore.optimizer_state
    # one matrix: q_proj of Qwen3-8B is 4096×4096 → 2 moments of 128×4096 + a 4096×128 projection, bf16
    attn_only = estimate_vram(QWEN3_8B, method="galore", optimizer="galore_adamw", galore_targets=["q_proj"])
    unprojected = adamw.optimizer_state - 2 * 2 * 4096 * 4096 * QWEN3_8B.num_layers
    projected = QWEN3_8B.num_layers * (2 * 128 * 4096 * 2 + 128 * 4096 * 2)
    assert attn_only.optimizer_state == unprojected + projected


def test_muon_keeps_one_buffer_for_hidden_matrices() -> None:
    adamw = estimate_vram(QWEN3_0_6B, optimizer="adamw", precision="fp32")
    muon = estimate_vram(QWEN3_0_6B, optimizer="muon", precision="fp32")
    assert muon.optimizer_state == 4 * QWEN3_0_6B.linear_params + 8 * QWEN3_0_6B.other_params
    assert muon.optimizer_state < adamw.optimizer_state


def test_checkpointing_and_attention_move_activations() -> None:
    kw = {"batch_size": 4, "seq_len": 4096}
    ckpt = estimate_vram(QWEN3_0_6B, gradient_checkpointing=True, **kw)
    full = estimate_vram(QWEN3_0_6B, gradient_checkpointing=False, **kw)
    eager = estimate_vram(QWEN3_0_6B, gradient_checkpointing=False, attention="eager", **kw)
    assert ckpt.activations < full.activations < eager.activations
    assert estimate_vram(QWEN3_0_6B, attention="flash_attention_2", **kw).activations == ckpt.activations
    # eager keeps b·heads·s² scores per layer: 6 bytes each in bf16 (fp32 softmax + bf16 copy)
    scores = 4 * 16 * 4096 * 4096 * 6 * QWEN3_0_6B.num_layers
    assert eager.activations - full.activations == pytest.approx(scores, rel=0.01)


def test_activations_grow_linearly_with_tokens_without_eager() -> None:
    one = estimate_vram(QWEN3_0_6B, batch_size=1, seq_len=1024)
    two = estimate_vram(QWEN3_0_6B, batch_size=2, seq_len=1024)
    longer = estimate_vram(QWEN3_0_6B, batch_size=1, seq_len=2048)
    assert two.activations == pytest.approx(2 * one.activations, rel=1e-6)
    assert longer.activations == pytest.approx(two.activations, rel=1e-6)


def test_overhead() -> None:
    gpu = estimate_vram(QWEN3_0_6B)
    cpu = estimate_vram(QWEN3_0_6B, device="cpu")
    assert gpu.overhead > CUDA_CONTEXT_BYTES
    assert cpu.overhead == CPU_PROCESS_BYTES
    assert estimate_vram(QWEN3_0_6B, context_bytes=0).overhead < gpu.overhead


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="method"):
        estimate_vram(QWEN3_0_6B, method="freeze")
    with pytest.raises(ValueError, match="positive"):
        estimate_vram(QWEN3_0_6B, batch_size=0)


def test_estimate_for_shipped_heroes(heroes: dict[str, HeroConfig], profiles: dict[str, MemoryProfile]) -> None:
    for hero in heroes.values():
        profile = profiles[hero.memory_profile]
        est = estimate_for(hero, profile)
        assert est.total > 0
        assert est.device == ("cpu" if profile.is_cpu else "cuda")
    nano = estimate_for(heroes["dio-nano"], profiles["cpu_tiny"])
    assert nano.total_params == DIO_NANO.total_params
    assert nano.total < 4 * GIB
    ojas = estimate_for(heroes["ojas"], profiles["24gb_qlora"])  # 8B QLoRA at batch 1 × 1024
    assert 6 * GIB < ojas.total < 16 * GIB
    assert ojas.cpu_offload > 0
    bigger = estimate_for(heroes["ojas"], profiles["24gb_qlora"], batch_size=2, seq_len=2048)
    assert bigger.activations > 3 * ojas.activations


def test_logits_priced_only_for_the_positions_the_head_projects() -> None:
    """The trainer's head projects only the labelled positions: `logit_tokens` prices those logits;
    None prices every token (the most a step can need, what a plain HF loss computes)."""
    every = estimate_vram(QWEN3_0_6B, method="lora", precision="amp_bf16", batch_size=4, seq_len=128, device="cpu")
    same = estimate_vram(
        QWEN3_0_6B, method="lora", precision="amp_bf16", batch_size=4, seq_len=128, device="cpu", logit_tokens=512
    )
    trained = estimate_vram(
        QWEN3_0_6B, method="lora", precision="amp_bf16", batch_size=4, seq_len=128, device="cpu", logit_tokens=64
    )
    assert same == every
    saved = every.activations - trained.activations
    # fp32 log-softmax saved + the bf16 logits and two fp32 gradient buffers, per logit not projected
    assert saved == pytest.approx((512 - 64) * QWEN3_0_6B.vocab_size * (4 + 2 + 8), rel=1e-6)
    assert (every.weights, every.gradients, every.optimizer_state) == (
        trained.weights,
        trained.gradients,
        trained.optimizer_state,
    )
    assert any("64 trained of 512 tokens" in n for n in trained.notes)


def test_a_micro_batch_budget_bounds_the_tokens_one_pass_holds() -> None:
    assert tokens_per_pass(32, 1024) == 32 * 1024  # no budget: the whole step at once
    assert tokens_per_pass(32, 1024, 1024) == 1024
    assert tokens_per_pass(32, 256, 1024) == 1024  # several short examples in one pass
    assert tokens_per_pass(32, 1024, 512) == 1024  # an example longer than the budget goes alone
    assert tokens_per_pass(2, 100, 1024) == 200  # never more than the step


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_micro_batches_price_the_activations_of_one_pass_on_a_gpu(attention: str) -> None:
    """8 × 2048 tokens in 4,096-token passes hold what a batch of 2 holds; the rest is unchanged."""
    knobs = dict(method="full", seq_len=2048, attention=attention, gradient_checkpointing=False)
    passes = estimate_vram(QWEN3_0_6B, batch_size=8, micro_batch_tokens=4096, **knobs)  # type: ignore[arg-type]
    two = estimate_vram(QWEN3_0_6B, batch_size=2, **knobs)  # type: ignore[arg-type]
    whole = estimate_vram(QWEN3_0_6B, batch_size=8, **knobs)  # type: ignore[arg-type]
    assert passes.activations == two.activations < whole.activations / 3
    assert (passes.weights, passes.gradients, passes.optimizer_state) == (
        whole.weights,
        whole.gradients,
        whole.optimizer_state,
    )
    assert any("micro-batches of at most 4,096 tokens" in note for note in passes.notes)


def test_dio_nano_is_priced_at_its_micro_batch_budget(
    heroes: dict[str, HeroConfig], profiles: dict[str, MemoryProfile]
) -> None:
    """dio-nano trains 32 × 1,024-token steps in 1,024-token passes (`micro_batch_tokens`): the
    estimate prices one pass's activations, not the step's 32 (2.98 GiB before), and its total is
    near the 630 MiB peak RSS measured for SY-joined steps (docs/skills.md)."""
    hero = heroes["dio-nano"]
    td = hero.training_defaults
    assert (td.batch_size, td.max_length, td.micro_batch_tokens, td.packing) == (32, 1024, 1024, True)
    profile = profiles[hero.memory_profile]
    est = estimate_for(hero, profile)
    one_pass = estimate_for(hero, profile, batch_size=1)
    assert est.activations == one_pass.activations
    unbounded = hero.model_copy(update={"training_defaults": td.model_copy(update={"micro_batch_tokens": 0})})
    assert estimate_for(hero, profile).activations * 20 < estimate_for(unbounded, profile).activations
    assert 0.5 < est.total / (630 * 2**20) < 1.5
    # Unpacked, a micro-batch is padded to its longest example and may exceed its budget: the whole step.
    unpacked = hero.model_copy(update={"training_defaults": td.model_copy(update={"packing": False})})
    assert estimate_for(unpacked, profile).activations == estimate_for(unbounded, profile).activations
