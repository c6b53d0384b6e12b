"""The activation coefficients re-measured on a real Hugging Face Qwen3 (a shape they were not fitted on).

Autograd's saved tensors are counted with `torch.autograd.graph.saved_tensors_hooks` (distinct
storages, parameters excluded) — the same way the coefficients in `armory/vram.py` were measured.
"""

from __future__ import annotations

import pytest

from realm_tui.armory.arch import ModelArch
from realm_tui.armory.vram import activation_breakdown

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

ARCH = ModelArch(
    "probe",
    hidden_size=96,
    num_layers=2,
    num_heads=6,
    num_kv_heads=2,
    head_dim=16,
    intermediate_size=256,
    vocab_size=700,
)
BATCH, SEQ = 2, 40


def saved_bytes(layers: int, precision: str, attention: str) -> int:
    cfg = transformers.Qwen3Config(
        vocab_size=ARCH.vocab_size,
        hidden_size=ARCH.hidden_size,
        intermediate_size=ARCH.intermediate_size,
        num_hidden_layers=layers,
        num_attention_heads=ARCH.num_heads,
        num_key_value_heads=ARCH.num_kv_heads,
        head_dim=ARCH.head_dim,
        tie_word_embeddings=False,
        use_cache=False,
        attn_implementation=attention,
    )
    torch.manual_seed(0)
    model = transformers.Qwen3ForCausalLM(cfg)
    if precision == "bf16":
        model = model.to(torch.bfloat16)
    ids = torch.randint(0, ARCH.vocab_size, (BATCH, SEQ))
    sizes: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        sizes[storage.data_ptr()] = max(sizes.get(storage.data_ptr(), 0), storage.nbytes())
        return t

    with (
        torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t),
        torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "amp_bf16"),
    ):
        model(input_ids=ids, labels=ids)
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    return sum(v for k, v in sizes.items() if k not in params)


@pytest.mark.parametrize(
    ("precision", "attention"),
    [("fp32", "sdpa"), ("amp_bf16", "sdpa"), ("bf16", "sdpa"), ("fp32", "eager"), ("bf16", "eager")],
)
def test_saved_activations_match_the_formula(precision: str, attention: str) -> None:
    one, three = saved_bytes(1, precision, attention), saved_bytes(3, precision, attention)
    measured_layer = (three - one) / 2
    measured_head = one - measured_layer
    predicted = activation_breakdown(
        ARCH,
        precision=precision,
        batch_size=BATCH,
        seq_len=SEQ,  # type: ignore[arg-type]
        gradient_checkpointing=False,
        attention=attention,  # type: ignore[arg-type]
    )
    assert predicted.per_layer + predicted.autocast_per_layer == pytest.approx(measured_layer, rel=0.05)
    assert predicted.head_saved == pytest.approx(measured_head, rel=0.10)


def test_checkpointing_keeps_only_layer_inputs() -> None:
    cfg = transformers.Qwen3Config(
        vocab_size=ARCH.vocab_size,
        hidden_size=ARCH.hidden_size,
        intermediate_size=ARCH.intermediate_size,
        num_hidden_layers=3,
        num_attention_heads=ARCH.num_heads,
        num_key_value_heads=ARCH.num_kv_heads,
        head_dim=ARCH.head_dim,
        use_cache=False,
        attn_implementation="sdpa",
    )
    model = transformers.Qwen3ForCausalLM(cfg)
    enable = getattr(model, "activation_checkpointing_enable", None) or model.gradient_checkpointing_enable
    enable()
    model.train()
    ids = torch.randint(0, ARCH.vocab_size, (BATCH, SEQ))
    seen = {p.untyped_storage().data_ptr() for p in model.parameters()}  # weights (and their views) are not activations
    total = 0

    def pack(t: torch.Tensor) -> torch.Tensor:
        nonlocal total
        ptr = t.untyped_storage().data_ptr()
        if ptr not in seen:
            seen.add(ptr)
            total += t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(input_ids=ids, labels=ids)
    predicted = activation_breakdown(ARCH, precision="fp32", batch_size=BATCH, seq_len=SEQ, gradient_checkpointing=True)
    kept = 3 * predicted.checkpoint_per_layer
    # what stays between forward and backward: the layer inputs and the head
    assert total == pytest.approx(kept + predicted.head_saved, rel=0.15)
