"""Memory profiles for the Armory: load them, explain `suggest_profile`'s choice, size the limits.

Pure Python (pydantic + the calculator): no torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from realm_tui.armory.arch import PRESETS, ModelArch
from realm_tui.armory.vram import GIB, VramEstimate, estimate_with_profile
from realm_tui.config.common import is_8bit_optimizer, is_paged_optimizer
from realm_tui.config.memory_profile import METHOD_PREFERENCE, MemoryProfile, suggest_profile
from realm_tui.config.realm_config import PROFILES_DIR, load_memory_profile
from realm_tui.errors import ConfigError


def load_profiles(configs_dir: Path | str) -> dict[str, MemoryProfile]:
    """Every memory profile of a realm by id (only `configs/memory_profiles/`; other configs may be broken)."""
    folder = Path(configs_dir) / PROFILES_DIR
    if not folder.is_dir():
        raise ConfigError(folder, "folder not found")
    profiles = {path.stem: load_memory_profile(configs_dir, path.stem) for path in sorted(folder.glob("*.yaml"))}
    if not profiles:
        raise ConfigError(folder, "no memory profile files (*.yaml)")
    return profiles


def arch_for_size(size_b: float) -> ModelArch:
    """A preset whose size is within 5 % of `size_b` billion parameters, else a guessed shape."""
    for arch in PRESETS.values():
        if abs(arch.total_params / 1e9 - size_b) <= 0.05 * size_b:
            return arch
    return ModelArch.from_params(size_b * 1e9)


def estimate_profile(
    arch: ModelArch, profile: MemoryProfile, batch_size: int, seq_len: int, *, precision: str | None = None
) -> VramEstimate:
    """The calculator for `arch` under `profile` (bf16 on a GPU profile, amp_bf16 on a CPU one)."""
    mode = precision or ("amp_bf16" if profile.is_cpu else "bf16")
    return estimate_with_profile(
        arch,
        profile,
        optimizer=profile.optimizer,
        precision=mode,  # type: ignore[arg-type]
        batch_size=batch_size,
        seq_len=seq_len,
    )


@dataclass(frozen=True)
class FitReport:
    """How much of a profile's limits fit a memory budget."""

    at_limits: VramEstimate
    """The estimate at `max_batch_size` × `max_seq_length`."""
    max_batch: int
    """Largest batch (≤ the profile's) that fits at `max_seq_length`; 0 when not even 1 does."""
    max_seq_at_batch_1: int
    """Longest sequence (≤ the profile's) that fits at batch 1; 0 when none does."""


def fit_within(arch: ModelArch, profile: MemoryProfile, budget_bytes: float) -> FitReport:
    seq = profile.max_seq_length
    at_limits = estimate_profile(arch, profile, profile.max_batch_size, seq)
    max_batch = 0
    for batch in range(profile.max_batch_size, 0, -1):
        if estimate_profile(arch, profile, batch, seq).total <= budget_bytes:
            max_batch = batch
            break
    lo, hi = 0, seq  # largest length in [0, seq] that fits at batch 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if estimate_profile(arch, profile, 1, mid).total <= budget_bytes:
            lo = mid
        else:
            hi = mid - 1
    return FitReport(at_limits=at_limits, max_batch=max_batch, max_seq_at_batch_1=lo)


@dataclass(frozen=True)
class Suggestion:
    """`suggest_profile`'s choice with the reasons, the profiles passed over, and a size check."""

    profile: MemoryProfile
    arch: ModelArch
    reasons: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    """`(profile id, why not)` for every other profile."""
    fit: FitReport | None = None


def explain_suggestion(
    model_size_b: float, vram_gb: float, profiles: Mapping[str, MemoryProfile], prefer: str | None = None
) -> Suggestion:
    """Pick a profile with `suggest_profile` and say why (raises `NoProfileFits` like it does)."""
    chosen = suggest_profile(model_size_b, vram_gb, profiles, prefer)
    arch = arch_for_size(model_size_b)
    size = chosen.recommended_model_sizes_b
    where = f"{vram_gb:g} GB" if vram_gb > 0 else "a CPU"
    reasons = [
        f"meant for {size.min:g}-{size.max:g}B models, and {model_size_b:g}B is in range",
        (f"sized for {chosen.vram_gb:g} GB, within {where}" if chosen.vram_gb else "a CPU profile"),
        f"method {chosen.method}: "
        + (
            f"you preferred {prefer}"
            if prefer is not None and chosen.method == prefer
            else f"first in the preference order {', '.join(METHOD_PREFERENCE)} among those that fit"
        ),
        f"optimizer {chosen.optimizer}"
        + (", 8-bit state" if is_8bit_optimizer(chosen.optimizer) else "")
        + (", paged to CPU memory under pressure" if is_paged_optimizer(chosen.optimizer) else ""),
    ]
    rejected: list[tuple[str, str]] = []
    for pid, p in sorted(profiles.items()):
        if pid == chosen.id:
            continue
        if not p.recommended_model_sizes_b.covers(model_size_b):
            r = p.recommended_model_sizes_b
            rejected.append((pid, f"meant for {r.min:g}-{r.max:g}B models"))
        elif p.vram_gb > vram_gb:
            rejected.append((pid, f"needs {p.vram_gb:g} GB, more than {where}"))
        else:
            rejected.append((pid, f"fits too, ranked lower (method {p.method}, optimizer {p.optimizer})"))
    if prefer is not None and chosen.method != prefer:
        reasons.insert(2, _unhonoured(prefer, model_size_b, where, profiles, dict(rejected)))
    fit = None
    if vram_gb > 0 and not chosen.is_cpu:
        fit = fit_within(arch, chosen, vram_gb * GIB)  # a "24 GB" card holds 24 GiB
    return Suggestion(profile=chosen, arch=arch, reasons=reasons, rejected=rejected, fit=fit)


def _unhonoured(
    prefer: str, model_size_b: float, where: str, profiles: Mapping[str, MemoryProfile], why_not: Mapping[str, str]
) -> str:
    """The reason line for a `prefer`red method that no fitting profile uses."""
    preferred = sorted(pid for pid, p in profiles.items() if p.method == prefer)
    if not preferred:
        return f"you preferred {prefer}, but this realm has no memory profile with method {prefer}"
    details = "; ".join(f"{pid}: {why_not[pid]}" for pid in preferred)
    return f"you preferred {prefer}, but no {prefer} profile fits {model_size_b:g}B on {where} ({details})"


def gib(n_bytes: float) -> str:
    return f"{n_bytes / GIB:.2f} GiB"
