"""Optimizer names for the Armory: where each comes from, and a memory profile's arguments.

Pure (no torch). The factory that builds them is trainer side:
`realm_tui.trainer.optimizers.build_optimizer`, with the table of what each optimizer keeps.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from realm_tui.config.memory_profile import MemoryProfile

GALORE_KEYS = ("rank", "update_proj_gap", "scale", "proj_type", "target_modules")
"""A GaLore optimizer's own arguments (a profile's `galore:` section, a job's `optimizer_args`)."""
GALORE_DEFAULT_TARGETS = ("attn", "mlp")
"""Module-name fragments whose 2-D weights GaLore projects when a profile names none."""
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


def describe(name: str, kwargs: Mapping[str, Any] | None = None) -> str:
    """One line for the Armory: what the optimizer is and where it comes from."""
    src = OPTIMIZER_SOURCES.get(name, "?")
    extra = ""
    if kwargs and name.startswith("galore_"):
        extra = (
            f", rank {kwargs.get('rank', 128)}, projection refreshed every {kwargs.get('update_proj_gap', 200)} steps"
        )
    return f"{name} ({src}{extra})"
