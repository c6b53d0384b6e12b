"""The Armory: memory profiles, the VRAM calculator, knob validation and the optimizer factory.

Importing this package is cheap and torch-free: `vram`, `arch`, `knobs` (except
`detect_environment`, which imports torch when called) and `profiles` are pure Python, and
`optimizers.build_optimizer` imports torch and the optimizer's library only when it is called.
"""

from realm_tui.armory.arch import PRESETS, QWEN3_0_6B, QWEN3_4B, QWEN3_8B, ModelArch, arch_for_hero, nano_arch
from realm_tui.armory.knobs import Environment, KnobReport, assess_knobs, check_knobs, detect_environment
from realm_tui.armory.optimizers import build_optimizer, optimizer_kwargs
from realm_tui.armory.vram import (
    PRECISION_MODES,
    ActivationBreakdown,
    VramEstimate,
    activation_breakdown,
    estimate_for,
    estimate_vram,
)

__all__ = [
    "PRECISION_MODES",
    "PRESETS",
    "QWEN3_0_6B",
    "QWEN3_4B",
    "QWEN3_8B",
    "ActivationBreakdown",
    "Environment",
    "KnobReport",
    "ModelArch",
    "VramEstimate",
    "activation_breakdown",
    "arch_for_hero",
    "assess_knobs",
    "build_optimizer",
    "check_knobs",
    "detect_environment",
    "estimate_for",
    "estimate_vram",
    "nano_arch",
    "optimizer_kwargs",
]
