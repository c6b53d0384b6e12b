"""A prefill whose only wanted logits are its last column's does not run its last layer for the
other columns.

Decoding after a prefill reads every column's keys and values at every layer, and the logits it
needs are the last column's. A decoder layer's keys and values come from its *input*, so at the
last layer the other columns need only their keys and values: their queries, attention, output
projection and MLP feed nothing anyone reads. `last_layer_on_last_column` swaps the last layer,
for one forward call, for `LastColumnLayer`, which stores every column's keys and values in the
cache as the layer would and runs the rest of the layer on the last column alone. On dio-nano
(4 layers) that is about a fifth of a prefill's matrix work. The last column's numbers are the
layer's own, computed on one column instead of many (only the float summation order of a matrix
product may differ, as between any two batch shapes).

Only for unsharded models (an FSDP layer gathers its weights in its own forward) whose layers are
built as Llama/Qwen3 layers are (`input_layernorm`, `self_attn` with `q_proj`,
`k_proj`, `v_proj`, `o_proj`, optional `q_norm`/`k_norm`, `post_attention_layernorm`, `mlp`), every
layer full attention, and a model module that defines `apply_rotary_pos_emb`; anything else keeps
its own layer (`fits` says which).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn
from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

from realm_tui.trainer.checkpoint import is_sharded

_ATTENTION_PARTS = ("q_proj", "k_proj", "v_proj", "o_proj")
_LAYER_PARTS = ("input_layernorm", "post_attention_layernorm", "mlp", "self_attn")


def decoder_layers(model: Any) -> nn.ModuleList | None:
    """The model's decoder layers (through a PEFT wrapper too), or None when there is no such list."""
    for name, module in model.named_modules():
        if name.split(".")[-1] == "layers" and isinstance(module, nn.ModuleList) and len(module):
            return module
    return None


def _rope(layer: nn.Module) -> Callable[..., Any] | None:
    return getattr(sys.modules.get(type(layer.self_attn).__module__), "apply_rotary_pos_emb", None)


def fits(model: Any) -> bool:
    """Whether `last_layer_on_last_column` can take `model`'s last layer."""
    return _fitting_layers(model) is not None


def _fitting_layers(model: Any) -> nn.ModuleList | None:
    """`model`'s decoder layers when `last_layer_on_last_column` can take the last one, else None
    (one walk over the model's modules: it runs at every prefill call)."""
    layers = decoder_layers(model)
    config = getattr(model, "config", None)
    if layers is None or config is None or is_sharded(model):
        return None  # a sharded layer gathers its weights in its own forward, which this one skips
    layer = layers[-1]
    if isinstance(layer, LastColumnLayer) or not all(hasattr(layer, part) for part in _LAYER_PARTS):
        return None
    if not all(hasattr(layer.self_attn, part) for part in _ATTENTION_PARTS) or _rope(layer) is None:
        return None
    layer_types = getattr(config, "layer_types", None) or ["full_attention"]
    full = all(t == "full_attention" for t in layer_types)
    return layers if full and isinstance(getattr(layer.self_attn, "layer_idx", None), int) else None


class LastColumnLayer(nn.Module):
    """`layer` for a prefill forward call: keys and values of every column into the cache, the rest
    of the layer on the last column. Returns rows x 1 x hidden (the model's final norm and head
    then see the last column only, which is all `logits_to_keep=1` asks of them)."""

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.layer = layer
        rope = _rope(layer)
        assert rope is not None
        self.rope = rope

    def forward(
        self,
        hidden_states: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        past_key_values: Any = None,
        use_cache: bool | None = False,
        position_embeddings: tuple[torch.Tensor, torch.Tensor] | None = None,
        **kwargs: Any,
    ) -> torch.Tensor:
        layer: Any = self.layer  # a Llama/Qwen3 decoder layer (`fits`), its parts untyped
        attn = layer.self_attn
        assert position_embeddings is not None and past_key_values is not None
        rows, columns, _ = hidden_states.shape
        dim = attn.head_dim
        normed = layer.input_layernorm(hidden_states)
        keys = attn.k_proj(normed).view(rows, columns, -1, dim)
        keys = (attn.k_norm(keys) if hasattr(attn, "k_norm") else keys).transpose(1, 2)
        values = attn.v_proj(normed).view(rows, columns, -1, dim).transpose(1, 2)
        query = attn.q_proj(normed[:, -1:]).view(rows, 1, -1, dim)
        query = (attn.q_norm(query) if hasattr(attn, "q_norm") else query).transpose(1, 2)
        cos, sin = position_embeddings
        query, _ = self.rope(query, query, cos[:, -1:], sin[:, -1:])
        keys, _ = self.rope(keys, keys, cos, sin)
        keys, values = past_key_values.update(keys, values, attn.layer_idx)
        if attention_mask is not None and attention_mask.dim() == 4:
            attention_mask = attention_mask[:, :, -1:, :]
        interface = ALL_ATTENTION_FUNCTIONS.get_interface(attn.config._attn_implementation, _eager)
        out, _ = interface(
            attn, query, keys, values, attention_mask, dropout=0.0, scaling=attn.scaling, position_ids=position_ids,
            **kwargs,
        )  # fmt: skip
        hidden = hidden_states[:, -1:] + attn.o_proj(out.reshape(rows, 1, -1).contiguous())
        return hidden + layer.mlp(layer.post_attention_layernorm(hidden))


def _eager(*args: Any, **kwargs: Any) -> Any:
    from transformers.models.llama.modeling_llama import eager_attention_forward

    return eager_attention_forward(*args, **kwargs)


@contextmanager
def last_layer_on_last_column(model: Any, enabled: bool = True) -> Iterator[None]:
    """Inside, `model`'s last decoder layer is a `LastColumnLayer` (when `enabled` and it `fits`):
    for a prefill forward call with `logits_to_keep=1` and a cache."""
    layers = _fitting_layers(model) if enabled else None
    if layers is None:
        yield
        return
    own = layers[-1]
    layers[-1] = LastColumnLayer(own)
    try:
        yield
    finally:
        layers[-1] = own
