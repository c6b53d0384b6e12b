"""Decoding attention over a prefix every row shares, kept once instead of once per row.

An eval's prompts start alike (the chat header and a skill's instructions: 174 tokens of an SY
prompt). The prefill runs them once (`evaluate._prefill`); before this module every row's KV
cache then held its own copy of those columns, and every decoding step read all of them again,
row by row: on an SY eval (100 rows, ~520 columns) the prefix was a third of the cache that
attention reads at each step. Here the rows' caches hold only their own columns and one
`SharedPrefix` holds the prefix's keys and values (one row); a decoding step scores each row's
query against the prefix in one matrix product over all rows, against its own columns as before,
and takes one softmax over both, which is the same attention (the same scores, weights and sums;
only the float summation order differs, as between any two attention kernels).

`attend()` puts it in place for a forward call: the model's attention implementation is swapped,
for that call, for `shared_prefix_attention`, which handles the new tokens' queries that carry a
`shared_prefix` keyword and hands everything else to the model's own implementation.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from transformers import AttentionInterface
from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

NAME = "realm_shared_prefix"


@dataclass
class SharedPrefix:
    """The shared prefix's keys and values per layer (each 1 x kv heads x columns x head dim) and
    the attention implementation the model had (what every other call goes to)."""

    keys: list[torch.Tensor]
    values: list[torch.Tensor]
    implementation: str

    @property
    def columns(self) -> int:
        return int(self.keys[0].shape[-2]) if self.keys else 0


def _own_implementation(name: str) -> Any:
    from transformers.models.llama.modeling_llama import eager_attention_forward

    return ALL_ATTENTION_FUNCTIONS.get_interface(name, eager_attention_forward)


def shared_prefix_attention(
    module: Any,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    """Attention of the new tokens of each row over [shared prefix][the row's own columns].

    `attention_mask` is the additive 4-D mask of the own columns (rows x 1 x new tokens x own
    columns); the prefix is seen by every row. Returns rows x 1 x heads x head dim, as transformers'
    attention functions do."""
    prefix: SharedPrefix | None = kwargs.pop("shared_prefix", None)
    if prefix is None or attention_mask is None or kwargs.get("softcap") is not None:
        own = _own_implementation(prefix.implementation if prefix is not None else "sdpa")
        return own(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling, **kwargs)
    if query.shape[2] != 1:
        return _several_queries(module, query, key, value, attention_mask, scaling, prefix), None
    rows, heads, _, dim = query.shape
    kv_heads = key.shape[1]
    groups = heads // kv_heads
    scale = scaling if scaling is not None else dim**-0.5
    pkeys, pvalues = prefix.keys[module.layer_idx][0], prefix.values[module.layer_idx][0]  # kv heads x P x dim
    columns = pkeys.shape[-2]
    q = query.reshape(rows, kv_heads, groups, dim)  # head h = kv head h // groups, as repeat_kv pairs them
    # Prefix scores: one product per kv head over every row's queries (kv heads x rows*groups x P).
    q_by_head = q.transpose(0, 1).reshape(kv_heads, rows * groups, dim)
    on_prefix = torch.bmm(q_by_head, pkeys.transpose(-1, -2)).view(kv_heads, rows, groups, columns).transpose(0, 1)
    on_own = torch.matmul(q, key.transpose(-1, -2)) * scale + attention_mask
    weights = torch.softmax(torch.cat([on_prefix * scale, on_own], dim=-1).float(), dim=-1).to(value.dtype)
    out = torch.matmul(weights[..., columns:], value)
    from_prefix = weights[..., :columns].transpose(0, 1).reshape(kv_heads, rows * groups, columns)
    out += torch.bmm(from_prefix, pvalues).view(kv_heads, rows, groups, dim).transpose(0, 1)
    return out.reshape(rows, heads, 1, dim).transpose(1, 2).contiguous(), None


def _several_queries(
    module: Any,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor,
    scaling: float | None,
    prefix: SharedPrefix,
) -> torch.Tensor:
    """`shared_prefix_attention` for Q new tokens per row (a checked draft, `trainer.self_draft`):
    `attention_mask` is rows x 1 x Q x own columns (causal among the new ones), the prefix is seen
    by every query. Returns rows x Q x heads x head dim."""
    rows, heads, count, dim = query.shape
    kv_heads = key.shape[1]
    groups = heads // kv_heads
    scale = scaling if scaling is not None else dim**-0.5
    pkeys, pvalues = prefix.keys[module.layer_idx][0], prefix.values[module.layer_idx][0]
    columns = pkeys.shape[-2]
    q = query.reshape(rows, kv_heads, groups * count, dim)  # query g*Q + i: head h*groups + g, token i
    q_by_head = q.transpose(0, 1).reshape(kv_heads, rows * groups * count, dim)
    on_prefix = torch.bmm(q_by_head, pkeys.transpose(-1, -2)).view(kv_heads, rows, groups * count, columns)
    mask = attention_mask[:, :, None].expand(-1, -1, groups, -1, -1).reshape(rows, 1, groups * count, -1)
    on_own = torch.matmul(q, key.transpose(-1, -2)) * scale + mask
    scores = torch.cat([on_prefix.transpose(0, 1) * scale, on_own], dim=-1)
    weights = torch.softmax(scores.float(), dim=-1).to(value.dtype)
    out = torch.matmul(weights[..., columns:], value)
    from_prefix = weights[..., :columns].transpose(0, 1).reshape(kv_heads, rows * groups * count, columns)
    out += torch.bmm(from_prefix, pvalues).view(kv_heads, rows, groups * count, dim).transpose(0, 1)
    return out.reshape(rows, heads, count, dim).transpose(1, 2).contiguous()


AttentionInterface.register(NAME, shared_prefix_attention)


@contextmanager
def attend(model: Any, prefix: SharedPrefix) -> Iterator[None]:
    """`model`'s attention goes through `shared_prefix_attention` inside (pass `shared_prefix=prefix`
    to the forward call), then back to its own implementation."""
    config = model.config
    config._attn_implementation = NAME
    try:
        yield
    finally:
        config._attn_implementation = prefix.implementation
