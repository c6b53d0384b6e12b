"""A KV cache for eval decoding that writes each new column in place.

transformers' `DynamicLayer` grows by `torch.cat` at every decoding step, copying the whole cache
each time: on an SY eval (100 rows, 350-560 columns) that copying was a third of the eval's CPU
time. `RoomyLayer` keeps one buffer with room for every column the decoding can reach and hands
the model a view of the columns filled so far; the keys and values it returns are the same
numbers `DynamicLayer` returns, so the answers do not change.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers.cache_utils import DynamicCache, DynamicLayer


class RoomyLayer(DynamicLayer):
    """`DynamicLayer` with room for `capacity` columns (it grows, by doubling, if ever needed)."""

    def __init__(self, capacity: int) -> None:
        super().__init__()
        self.capacity = max(1, capacity)
        self._keys: torch.Tensor | None = None
        self._values: torch.Tensor | None = None

    def update(
        self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any
    ) -> tuple[torch.Tensor, torch.Tensor]:
        used = self.get_seq_length()
        new = key_states.shape[-2]
        if self._keys is None or self._values is None or used + new > self._keys.shape[-2]:
            self._grow(key_states, value_states, used + new)
        assert self._keys is not None and self._values is not None
        self._keys[..., used : used + new, :] = key_states
        self._values[..., used : used + new, :] = value_states
        self.keys = self._keys[..., : used + new, :]
        self.values = self._values[..., : used + new, :]
        self.is_initialized = True
        return self.keys, self.values

    def _grow(self, key_states: torch.Tensor, value_states: torch.Tensor, needed: int) -> None:
        used = self.get_seq_length()
        room = max(needed, self.capacity, 2 * (self._keys.shape[-2] if self._keys is not None else 0))
        keys = key_states.new_empty((*key_states.shape[:-2], room, key_states.shape[-1]))
        values = value_states.new_empty((*value_states.shape[:-2], room, value_states.shape[-1]))
        if used:
            assert self.keys is not None and self.values is not None
            keys[..., :used, :] = self.keys
            values[..., :used, :] = self.values
        self.dtype, self.device = key_states.dtype, key_states.device
        self._keys, self._values = keys, values

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        if self._keys is None or self._values is None:
            return
        used = self.get_seq_length()
        self._keys, self._values = _rows_of(self._keys, indices, used), _rows_of(self._values, indices, used)
        self.keys, self.values = self._keys[..., :used, :], self._values[..., :used, :]

    def batch_repeat_interleave(self, repeats: int) -> None:
        if self._keys is None or self._values is None:
            return
        used = self.get_seq_length()
        self._keys = self._keys.repeat_interleave(repeats, dim=0)
        self._values = self._values.repeat_interleave(repeats, dim=0)
        self.keys, self.values = self._keys[..., :used, :], self._values[..., :used, :]


def _rows_of(buffer: torch.Tensor, indices: torch.Tensor, used: int) -> torch.Tensor:
    """A buffer as roomy as `buffer` holding the rows at `indices`: only the `used` columns are
    copied (the room after them is written before it is read)."""
    out = buffer.new_empty((len(indices), *buffer.shape[1:]))
    torch.index_select(buffer[..., :used, :], 0, indices, out=out[..., :used, :])
    return out


def roomy_cache(model: Any, capacity: int) -> DynamicCache:
    """A `DynamicCache` for `model` whose plain full-attention layers are `RoomyLayer`s
    (sliding-window and other special layers are kept as transformers builds them)."""
    config = getattr(model, "config", None)
    cache = DynamicCache(config=config) if config is not None else DynamicCache()
    cache.layers = [RoomyLayer(capacity) if type(layer) is DynamicLayer else layer for layer in cache.layers]
    return cache


def _roomy_layers(cache: DynamicCache) -> list[RoomyLayer]:
    layers = [layer for layer in cache.layers if isinstance(layer, RoomyLayer)]
    if len(layers) != len(cache.layers):
        raise TypeError("only caches made of RoomyLayers are copied and stacked (see `stackable`)")
    return layers


def stackable(model: Any) -> bool:
    """Whether `copy_rows` and `stack_caches` work on `model`'s caches: every layer a `RoomyLayer`."""
    return all(isinstance(layer, RoomyLayer) for layer in roomy_cache(model, 1).layers)


def layer_keys_values(cache: DynamicCache) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Each layer's keys and values so far (views)."""
    layers = _roomy_layers(cache)
    keys = [layer.keys for layer in layers if layer.keys is not None]
    values = [layer.values for layer in layers if layer.values is not None]
    if len(keys) != len(layers) or len(values) != len(layers):
        raise ValueError("an empty cache layer")
    return keys, values


def copy_rows(source: DynamicCache, target: DynamicCache, rows: int) -> None:
    """Fill the empty `target` with `rows` copies of `source`'s one row (a shared prefix)."""
    for src, dst in zip(_roomy_layers(source), _roomy_layers(target), strict=True):
        assert src.keys is not None and src.values is not None
        dst.update(src.keys.expand(rows, -1, -1, -1), src.values.expand(rows, -1, -1, -1))


def stack_caches(model: Any, caches: list[DynamicCache], capacity: int, skip: int = 0) -> DynamicCache:
    """One cache holding the rows of `caches` in order (each filled to the same columns): the
    prefill's groups of rows, joined for decoding (one copy of each buffer). `skip` leaves out
    each row's first columns (a shared prefix kept once elsewhere, see `trainer.shared_prefix`)."""
    out = roomy_cache(model, capacity)
    groups = [_roomy_layers(c) for c in caches]
    for i, layer in enumerate(_roomy_layers(out)):
        parts = [g[i] for g in groups]
        keys = [p._keys[..., skip:, :] for p in parts if p._keys is not None]
        values = [p._values[..., skip:, :] for p in parts if p._values is not None]
        used = parts[0].get_seq_length() - skip
        layer._keys, layer._values = torch.cat(keys), torch.cat(values)
        layer.keys, layer.values = layer._keys[..., :used, :], layer._values[..., :used, :]
        layer.dtype, layer.device = keys[0].dtype, keys[0].device
        layer.is_initialized = True
    return out


def without_first_columns(cache: DynamicCache, skip: int) -> DynamicCache:
    """`cache` itself without each row's first `skip` columns (a shared prefix that decoding keeps
    apart, see `trainer.shared_prefix`): its layers become views of the same buffers, no copy,
    with the room after their columns as before."""
    for layer in _roomy_layers(cache):
        assert layer._keys is not None and layer._values is not None
        used = layer.get_seq_length() - skip
        layer._keys, layer._values = layer._keys[..., skip:, :], layer._values[..., skip:, :]
        layer.keys, layer.values = layer._keys[..., :used, :], layer._values[..., :used, :]
    return cache


def take_rows(
    model: Any,
    cache: DynamicCache,
    index: torch.Tensor,
    capacity: int,
    prefix: tuple[list[torch.Tensor], list[torch.Tensor]] | None = None,
) -> DynamicCache:
    """A new cache of `cache`'s rows at `index` (copies; `cache` is left as it is), with room for
    `capacity` columns. `prefix` (each layer's one-row keys and values, kept apart while the
    batch decoded, see `trainer.shared_prefix`) is put back in front of every row's columns."""
    out = roomy_cache(model, capacity)
    for i, (src, dst) in enumerate(zip(_roomy_layers(cache), _roomy_layers(out), strict=True)):
        assert src.keys is not None and src.values is not None
        keys, values = src.keys[index], src.values[index]
        if prefix is not None:
            rows = keys.shape[0]
            keys = torch.cat([prefix[0][i].expand(rows, -1, -1, -1), keys], dim=-2)
            values = torch.cat([prefix[1][i].expand(rows, -1, -1, -1), values], dim=-2)
        dst.update(keys, values)
    return out


Source = tuple[DynamicCache, torch.Tensor, int]
"""A cache, the rows of it to take, and how many of its first columns to leave out (a shared
prefix that the new cache keeps apart)."""


def merge_rows(
    model: Any, sources: list[Source], capacity: int, places: list[torch.Tensor] | None = None
) -> tuple[DynamicCache, list[int]]:
    """One new cache of the chosen rows of several caches (copies), in order (or each source's
    rows at its `places`), with room for `capacity` columns. Caches of fewer columns are
    right-aligned: the columns before theirs are zeros, for the caller's mask to hide (attention
    weighs them 0, and 0 x a finite 0 is 0). Returns the cache and each source's column count."""
    out = roomy_cache(model, capacity)
    taken: list[list[tuple[torch.Tensor, torch.Tensor]]] = []
    for cache, index, skip in sources:
        layers = []
        for src in _roomy_layers(cache):
            assert src.keys is not None and src.values is not None
            layers.append((src.keys[index, :, skip:], src.values[index, :, skip:]))
        taken.append(layers)
    widths = [layers[0][0].shape[-2] for layers in taken]
    width, rows = max(widths), sum(len(index) for _, index, _ in sources)
    for i, layer in enumerate(_roomy_layers(out)):
        first, first_values = taken[0][i]
        shape = (rows, first.shape[1], max(capacity, width), first.shape[-1])
        # keys and values each keep their own dtype: under bf16 autocast a model's keys may come
        # out fp32 (RoPE with fp32 tables) while its values are bf16
        layer._keys = first.new_empty(shape)
        layer._values = first_values.new_empty((*shape[:-1], first_values.shape[-1]))
        row = 0
        for n, (layers, cols) in enumerate(zip(taken, widths, strict=True)):
            keys, values = layers[i]
            to: Any = slice(row, row + keys.shape[0]) if places is None else places[n]
            for buffer, part in ((layer._keys, keys), (layer._values, values)):
                buffer[to, :, : width - cols] = 0
                buffer[to, :, width - cols : width] = part
            row += keys.shape[0]
        layer.keys, layer.values = layer._keys[..., :width, :], layer._values[..., :width, :]
        layer.dtype, layer.device = first.dtype, first.device
        layer.is_initialized = True
    return out, widths
