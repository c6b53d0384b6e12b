"""How wide a packed row may be for a given model: as wide as attention stays cheap beside the linears.

A packed row of width W costs, per token and decoder layer, the linear layers' FLOPs (fixed) plus
attention over the row: sdpa with the block-diagonal mask packing needs scores the whole W×W
square, so ~4·n_heads·head_dim·W FLOPs per token (QKᵀ and the weighted sum of V). Wider rows
waste less padding (a step's examples fit in fewer, fuller rows) but pay more attention. Rows may
grow until attention reaches ATTENTION_SHARE of the linears' FLOPs; where that is no wider than
PACK_ROW_TOKENS (the width measured best on dio-nano, where attention is relatively dear) the
default rows stay, capped at max_length as before. A wider row never holds more tokens than the
padded micro-batch would (at most micro-batch × max_length), so memory is not priced higher.

dio-nano (hidden 256, 4 heads of 64, intermediate 512): 1.18 MFLOP of linears per token and
layer, 1,024 FLOPs of attention per token pair → 144: the default rows (unchanged). A Qwen3-0.6B shape
(hidden 1024, 16 heads of 128, 8 KV heads, intermediate 3072): 31.5 MFLOP vs 8,192 → 480-token
rows, so a CPU-sized step of four ~100-token examples packs into one row with no padding.
"""

from __future__ import annotations

from typing import Any

from realm_tui.trainer.data import PACK_ROW_TOKENS

ATTENTION_SHARE = 1 / 8
"""Attention FLOPs per token allowed, as a share of the linear layers' FLOPs per token."""


def _get(config: Any, name: str, default: int = 0) -> int:
    value = getattr(config, name, None)
    return int(value) if isinstance(value, int) and value > 0 else default


def linear_flops_per_token(config: Any) -> int:
    """Forward FLOPs of one decoder layer's linear projections for one token (2 per weight)."""
    hidden = _get(config, "hidden_size")
    heads = _get(config, "num_attention_heads", 1)
    head_dim = _get(config, "head_dim", hidden // heads if heads else 0)
    kv = _get(config, "num_key_value_heads", heads)
    inter = _get(config, "intermediate_size", 4 * hidden)
    attn = hidden * head_dim * (2 * heads + 2 * kv)  # q and o, k and v
    mlp = 3 * hidden * inter  # gate, up, down (SwiGLU)
    return 2 * (attn + mlp)


def attention_flops_per_pair(config: Any) -> int:
    """Forward FLOPs of attention per (query, key) pair in one layer: QKᵀ and scores·V."""
    hidden = _get(config, "hidden_size")
    heads = _get(config, "num_attention_heads", 1)
    head_dim = _get(config, "head_dim", hidden // heads if heads else 0)
    return 4 * heads * head_dim


def row_tokens_for(config: Any) -> int | None:
    """The packed-row width for a model config (anything with `hidden_size`, heads, ...); None:
    the default rows (`data.make_batch` without `row_tokens`), also for a shape it cannot read."""
    linear, pair = linear_flops_per_token(config), attention_flops_per_pair(config)
    if linear <= 0 or pair <= 0:
        return None
    width = int(ATTENTION_SHARE * linear / pair)
    return width if width > PACK_ROW_TOKENS else None
