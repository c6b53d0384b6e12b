"""Activation memory: what autograd saves for the backward pass, per token and decoder layer.

The formula, its sources and the measurement behind the coefficients are in the module docstring
of `realm_tui.armory.vram` (the calculator that adds this to weights, gradients, optimizer state
and overhead). Also home of the precision modes and attention kinds the estimate depends on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from realm_tui.armory.arch import ModelArch
from realm_tui.armory.targets import lora_modules

PrecisionMode = Literal["fp32", "amp_bf16", "bf16", "bf16_master"]
"""How trained weights are stored and computed.

* `fp32`: fp32 weights, gradients, optimizer state and activations.
* `amp_bf16`: fp32 weights/gradients/state, bf16 autocast compute (what `accelerate`'s
  `mixed_precision="bf16"` does to an fp32 model; the trainer's CPU default).
* `bf16`: pure bf16 weights and gradients; torch's AdamW then keeps bf16 moments.
* `bf16_master`: bf16 weights plus an fp32 master copy and fp32 optimizer state.
"""
PRECISION_MODES: tuple[str, ...] = get_args(PrecisionMode)

Attention = Literal["sdpa", "flash_attention_2", "eager"]


@dataclass(frozen=True)
class _ActCoefficients:
    """Bytes saved for backward per token of one decoder layer, per unit of each width."""

    hidden: float
    intermediate: float
    q: float
    kv: float
    q_eager: float
    kv_eager: float
    score: float
    """Bytes per attention score (b·heads·s² of them) with eager attention."""
    residual: int
    """Width of the residual stream: what gradient checkpointing keeps per layer."""
    logits_saved: float
    """Bytes per logit autograd saves for the loss (the fp32 log-softmax)."""
    logits_transient: float
    """Bytes per logit alive besides during the backward pass: the logits the model returns (when
    not counted as saved) and the fp32 gradients of the log-probabilities and of the logits."""
    head_hidden: float
    """Bytes per token per hidden unit around the head (final norm, head input)."""


# Measured on HF Qwen3 (transformers 5.23, torch 2.13) by summing the distinct storages that
# autograd saves (see the module docstring of vram.py and tests/unit/armory/test_vram_activations.py).
_FP32 = _ActCoefficients(24, 16, 16.25, 16.125, 24.125, 8.125, 4, 4, 4, 4 + 8, 13.2)
_AMP = _ActCoefficients(26, 8, 10.25, 10.125, 14.125, 6.125, 6, 4, 4, 2 + 8, 11.2)
_BF16 = _ActCoefficients(16, 8, 10.25, 10.125, 14.125, 6.125, 6, 2, 4, 2 + 8, 8.7)
_ACTIVATIONS: dict[str, _ActCoefficients] = {"fp32": _FP32, "amp_bf16": _AMP, "bf16": _BF16, "bf16_master": _BF16}
"""By precision mode: an fp32 master copy does not change what the bf16 forward pass saves."""


@dataclass(frozen=True)
class ActivationBreakdown:
    """The activation memory of one training step, in bytes."""

    per_layer: int
    """Everything one decoder layer saves for backward (what a checkpointed layer recomputes)."""
    autocast_per_layer: int
    """Under autocast: the bf16 copies of one layer's weights, kept for the backward pass."""
    checkpoint_per_layer: int
    """What a checkpointed layer keeps instead: its input."""
    layers: int
    """All decoder layers together, as stored (checkpointed or not) plus the layer being recomputed."""
    head_saved: int
    """What the final norm, LM head and loss save for backward."""
    head_peak: int
    """... plus the logits and their gradients alive in the backward pass."""

    @property
    def total(self) -> int:
        return self.layers + self.head_peak


def tokens_per_pass(batch_size: int, seq_len: int, token_budget: int = 0) -> int:
    """The most tokens one forward/backward pass of a step holds, so autograd keeps at once.

    Without a budget the whole step: `batch_size` rows of `seq_len`. With the trainer's
    `micro_batch_tokens` budget (`trainer.runtime.micro_batches`) a step's examples go through in
    packed micro-batches of at most that many tokens, an example longer than the budget alone: at
    most max(budget, seq_len) tokens, and never more than the whole step. (Gradients accumulate
    in place, so only one micro-batch's activations are alive; the weights, gradients and
    optimizer state do not change.)"""
    tokens = batch_size * seq_len
    return min(tokens, max(token_budget, seq_len)) if token_budget > 0 else tokens


def eager_scores_bytes(arch: ModelArch, precision: PrecisionMode, batch_size: int, seq_len: int) -> float:
    """The s×s attention scores one decoder layer saves with `eager` attention."""
    return batch_size * arch.num_heads * seq_len * seq_len * _ACTIVATIONS[precision].score


def activation_breakdown(
    arch: ModelArch,
    *,
    precision: PrecisionMode = "bf16",
    batch_size: int = 1,
    seq_len: int = 1024,
    gradient_checkpointing: bool = True,
    attention: Attention = "sdpa",
    lora_r: int = 0,
    lora_targets: Sequence[str] = (),
    lora_dropout: float = 0.0,
    quantized: bool = False,
    logit_tokens: int | None = None,
    token_budget: int = 0,
) -> ActivationBreakdown:
    """Activation memory by the formula in the module docstring (`lora_r` 0: no adapters).

    `logit_tokens`: the positions the head projects (the trainer projects only the labelled ones);
    None: every token, what a plain Hugging Face loss does, and the most a step can need.
    `token_budget`: the trainer's micro-batch budget (`micro_batch_tokens`, 0: none); see
    `tokens_per_pass`."""
    c = _ACTIVATIONS[precision]
    tokens = tokens_per_pass(batch_size, seq_len, token_budget)
    rows = min(batch_size, -(-tokens // seq_len))
    logits = tokens if logit_tokens is None else min(tokens, max(0, logit_tokens))
    h, i_size = arch.hidden_size, arch.intermediate_size
    if attention == "eager":
        widths = c.hidden * h + c.intermediate * i_size + c.q_eager * arch.q_dim + c.kv_eager * arch.kv_dim
        per_layer = tokens * widths + eager_scores_bytes(arch, precision, rows, seq_len)
    else:
        per_layer = tokens * (c.hidden * h + c.intermediate * i_size + c.q * arch.q_dim + c.kv * arch.kv_dim)
    if lora_r:
        shapes = arch.linear_shapes()
        adapted = lora_modules(lora_targets)
        ins = sum(shapes[m][0] for m in adapted)
        extra = lora_r * 4 * len(adapted)  # lora_A's output, fp32, saved by lora_B
        if lora_dropout > 0:
            extra += 4 * ins  # the dropout output feeding lora_A, fp32
        if quantized or precision in ("bf16", "bf16_master"):
            extra += 4 * ins  # the input cast to the adapters' fp32
        per_layer += tokens * extra
    autocast = precision == "amp_bf16" and not quantized
    autocast_copies = 2 * arch.layer_linear_params if autocast else 0
    kept = tokens * h * c.residual
    if gradient_checkpointing:
        layers = arch.num_layers * kept + per_layer + autocast_copies
    else:
        layers = arch.num_layers * (per_layer + autocast_copies)
    head_saved = logits * arch.vocab_size * c.logits_saved + tokens * h * c.head_hidden
    if autocast:
        head_saved += 2 * arch.vocab_size * h  # the head's bf16 copy
    head_peak = head_saved + logits * arch.vocab_size * c.logits_transient
    return ActivationBreakdown(
        per_layer=int(per_layer),
        autocast_per_layer=int(autocast_copies),
        checkpoint_per_layer=int(kept),
        layers=int(layers),
        head_saved=int(head_saved),
        head_peak=int(head_peak),
    )
