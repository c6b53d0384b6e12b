"""The optimizer factory: every optimizer the Armory offers, built for a model.

Importing this module is cheap (no torch); `build_optimizer` imports torch, bitsandbytes or
galore-torch only for the optimizer asked for.

    optimizer = build_optimizer(name, model, lr, weight_decay, **optimizer_kwargs(profile))

| name                | from                      | state per trainable parameter                    |
|---------------------|---------------------------|--------------------------------------------------|
| `adamw`             | `torch.optim.AdamW`       | 2 moments, parameter dtype                       |
| `adamw_torch_fused` | `torch.optim.AdamW(fused)`| same; fused kernel on CUDA, foreach on a CPU     |
| `adamw_8bit`        | `bitsandbytes.optim.AdamW8bit` | 2 × 8-bit (+ fp32 absmax per 256)           |
| `paged_adamw_32bit` | `bitsandbytes.optim.PagedAdamW32bit` | 2 × fp32 in pageable unified memory   |
| `paged_adamw_8bit`  | `bitsandbytes.optim.PagedAdamW8bit`  | 2 × 8-bit, pageable                   |
| `galore_adamw`      | `galore_torch.GaLoreAdamW`     | 2 moments of the rank-r projected gradient  |
| `galore_adamw_8bit` | `galore_torch.GaLoreAdamW8bit` | same in 8 bits (CUDA only)                  |
| `muon`              | `torch.optim.Muon` + `AdamW`   | 1 momentum (2-D hidden matrices) / 2 moments|

Parameter groups: weight decay goes to matrices only (norm weights and biases get none), as in
the trainer. GaLore projects the 2-D weights whose module name contains a target fragment
(`attn`, `mlp`); Muon takes the 2-D weights of the hidden layers and leaves embeddings, the LM head,
norms and biases to AdamW, inside one `MuonWithAdamW` optimizer that LR schedulers, `accelerate`
and checkpoints (`state_dict` / `load_state_dict`, `torch.load(weights_only=True)`) handle like
any other.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from realm_tui.config.common import OPTIMIZERS
from realm_tui.errors import InputError

if TYPE_CHECKING:
    import torch

    from realm_tui.config.memory_profile import MemoryProfile

log = logging.getLogger(__name__)

GALORE_KEYS = ("rank", "update_proj_gap", "scale", "proj_type", "target_modules")
MUON_KEYS = ("momentum", "nesterov", "ns_steps", "ns_coefficients", "adjust_lr_fn", "adamw_betas", "adamw_eps")

OPTIMIZER_SOURCES: dict[str, str] = {
    "adamw": "torch",
    "adamw_torch_fused": "torch",
    "adamw_8bit": "bitsandbytes",
    "paged_adamw_32bit": "bitsandbytes",
    "paged_adamw_8bit": "bitsandbytes",
    "galore_adamw": "galore-torch",
    "galore_adamw_8bit": "galore-torch + bitsandbytes",
    "muon": "torch (Muon) + torch (AdamW)",
}


def optimizer_kwargs(profile: MemoryProfile, optimizer: str | None = None) -> dict[str, Any]:
    """Keyword arguments for `build_optimizer` from a memory profile: its `optimizer_args`
    (betas, eps, ...) and, for a GaLore optimizer, its `galore:` section."""
    name = optimizer or profile.optimizer
    kwargs: dict[str, Any] = dict(profile.optimizer_args)
    if name.startswith("galore_") and profile.galore is not None:
        g = profile.galore
        kwargs.update(
            rank=g.rank, update_proj_gap=g.update_proj_gap, scale=g.scale, target_modules=list(g.target_modules)
        )
    return kwargs


def build_optimizer(
    name: str,
    model: Any,
    lr: float,
    weight_decay: float = 0.0,
    *,
    notes: list[str] | None = None,
    **kwargs: Any,
) -> torch.optim.Optimizer:
    """Build optimizer `name` over `model`'s trainable parameters.

    `kwargs` go to the optimizer (`betas`, `eps`, ...); GaLore takes `rank`, `update_proj_gap`,
    `scale`, `proj_type`, `target_modules`; Muon takes `momentum`, `nesterov`, `ns_steps`,
    `ns_coefficients`, `adjust_lr_fn` (default `match_rms_adamw`, so one lr suits both halves),
    `adamw_betas`, `adamw_eps`. Fall-backs (fused AdamW on a CPU) are logged and appended to
    `notes` when given. Raises `InputError` for an unknown name or a missing library.
    """
    if name not in OPTIMIZERS:
        raise InputError(None, f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    if lr <= 0:
        raise InputError(None, f"learning rate must be positive, got {lr}")
    from realm_tui.armory import _optim_impl

    said: list[str] = [] if notes is None else notes
    optimizer = _optim_impl.build(name, model, lr, weight_decay, said, dict(kwargs))
    for note in said:
        log.info("optimizer %s: %s", name, note)
    return optimizer


def optimizer_state_bytes(optimizer: Any) -> int:
    """Bytes held in the optimizer's state tensors (moments, projections, quantization maps)."""
    from realm_tui.armory import _optim_impl

    return _optim_impl.state_bytes(optimizer)


def __getattr__(attr: str) -> Any:
    """`MuonWithAdamW` and the GaLore classes load torch, so they are fetched on first use."""
    if attr in ("MuonWithAdamW", "galore_classes"):
        from realm_tui.armory import _optim_impl

        return getattr(_optim_impl, attr)
    raise AttributeError(attr)


def describe(name: str, kwargs: Mapping[str, Any] | None = None) -> str:
    """One line for the Armory: what the optimizer is and where it comes from."""
    src = OPTIMIZER_SOURCES.get(name, "?")
    extra = ""
    if kwargs and name.startswith("galore_"):
        extra = (
            f", rank {kwargs.get('rank', 128)}, projection refreshed every {kwargs.get('update_proj_gap', 200)} steps"
        )
    return f"{name} ({src}{extra})"
