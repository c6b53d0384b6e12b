"""Which decoder linears a LoRA or GaLore target list picks, and how many parameters LoRA adds.

Shared by the VRAM calculator, the activation estimate and the knob checks (a target list that
matches no layer is refused there).
"""

from __future__ import annotations

from collections.abc import Sequence

from realm_tui.armory.arch import LINEAR_MODULES, MODULE_PATHS, ModelArch


def _matches(name: str, targets: Sequence[str]) -> bool:
    """LoRA target names: `all-linear`, an exact module name (`q_proj`) or a path suffix."""
    path = MODULE_PATHS[name]
    return any(t == "all-linear" or t == name or path.endswith(t) for t in targets)


def lora_modules(targets: Sequence[str]) -> list[str]:
    """Which decoder linears a LoRA `target_modules` list adapts (PEFT matches names by suffix)."""
    return [m for m in LINEAR_MODULES if _matches(m, targets)]


def galore_modules(fragments: Sequence[str]) -> list[str]:
    """Which decoder linears GaLore projects: those whose path contains one of the fragments."""
    return [m for m in LINEAR_MODULES if any(f in MODULE_PATHS[m] for f in fragments)]


def lora_params(arch: ModelArch, r: int, targets: Sequence[str]) -> int:
    """Trainable LoRA parameters: r·(in + out) per adapted linear, over every decoder layer."""
    shapes = arch.linear_shapes()
    return arch.num_layers * sum(r * (shapes[m][0] + shapes[m][1]) for m in lora_modules(targets))
