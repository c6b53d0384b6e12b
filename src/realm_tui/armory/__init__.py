"""The Armory: memory profiles, the VRAM calculator, knob validation and optimizer names.

Pure Python, torch-free: `vram`, `arch`, `knobs`, `profiles` and `optimizers` (names, sources and
a profile's optimizer arguments). What needs torch lives in the trainer: the optimizer factory
(`realm_tui.trainer.optimizers.build_optimizer`) and the machine probe
(`realm_tui.trainer.environment.detect_environment`).
"""

from realm_tui.armory.arch import PRESETS, QWEN3_0_6B, QWEN3_4B, QWEN3_8B, ModelArch, nano_arch
from realm_tui.armory.hero_arch import arch_for_hero
from realm_tui.armory.knobs import Environment, KnobReport, assess_knobs, check_knobs
from realm_tui.armory.optimizers import optimizer_kwargs
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
    "check_knobs",
    "estimate_for",
    "estimate_vram",
    "nano_arch",
    "optimizer_kwargs",
]
