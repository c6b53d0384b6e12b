"""Types shared by several config files: ids, optimizer names, training methods."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import StringConstraints

SLUG_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
"""Ids are lower-case slugs: they name files and folders, so no dots, slashes or spaces."""

Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN)]

Optimizer = Literal[
    "adamw",
    "adamw_torch_fused",
    "adamw_8bit",
    "paged_adamw_32bit",
    "paged_adamw_8bit",
    "galore_adamw",
    "galore_adamw_8bit",
    "muon",
]
OPTIMIZERS: tuple[str, ...] = get_args(Optimizer)

Method = Literal["full", "lora", "qlora", "galore"]
"""How the weights are trained: all of them, adapters on a bf16 or 4-bit base, or GaLore."""
METHODS: tuple[str, ...] = get_args(Method)

Precision = Literal["auto", "bf16", "fp32"]


def is_8bit_optimizer(optimizer: str) -> bool:
    """Optimizers that keep their state in 8 bits (bitsandbytes or GaLore 8-bit)."""
    return optimizer.endswith("_8bit")


def is_paged_optimizer(optimizer: str) -> bool:
    """Optimizers whose state pages out to CPU memory under pressure (bitsandbytes)."""
    return optimizer.startswith("paged_")


def optimizer_problem(method: str, optimizer: str) -> str | None:
    """Why `optimizer` cannot train with `method`, or None when they go together."""
    galore_opt = optimizer.startswith("galore_")
    if method == "galore" and not galore_opt:
        return f"method galore needs galore_adamw or galore_adamw_8bit, not {optimizer}"
    if galore_opt and method != "galore":
        return f"optimizer {optimizer} needs method galore, not {method}"
    if optimizer == "muon" and method != "full":
        return f"optimizer muon trains full 2-D weight matrices: it needs method full, not {method}"
    return None
