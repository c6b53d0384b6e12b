"""Knob validation: refuse, before the battle, every combination of knobs that cannot work.

`check_knobs` is pure: it takes what the machine can do as booleans, so it is tested without a
GPU. The trainer side finds them out (`realm_tui.trainer.environment.detect_environment`, which
imports torch); the parent runs that probe in a subprocess (`realm_tui.battle.preflight`).

Decisions (documented in docs/armory.md):

* Paged optimizers (`paged_adamw_32bit`, `paged_adamw_8bit`) are **allowed on a CPU**: bitsandbytes
  steps them on CPU tensors (measured, see FACTS); paging is then a no-op. Reported as a note.
* 8-bit AdamW (`adamw_8bit`) likewise runs on CPU tensors: allowed, with a note.
* `galore_adamw_8bit` is **refused without CUDA**: galore-torch's `GaLoreAdamW8bit.step` calls
  `torch.cuda.synchronize()` unconditionally. `galore_adamw` runs on a CPU.
* 4-bit/8-bit base weights (QLoRA, LoRA on an 8-bit base) are **refused without bitsandbytes
  CUDA** for a GPU profile. A CPU profile (vram_gb 0, e.g. `cpu_qlora`) on a machine without CUDA
  takes bitsandbytes' CPU path: on a 0.45B hero a step cost about what LoRA on a full-precision
  base costs (bench/real_hero.py, issue 19), with the base in a quarter of the memory. A note.
* `flash_attention_2` is **refused without CUDA** (the kernel is CUDA-only); with CUDA but without
  the `flash-attn` package the trainer falls back to `sdpa`: a note, not a refusal.
* `adamw_torch_fused` without CUDA falls back to the foreach AdamW: a note.
* Muon only takes 2-D matrices; the optimizer factory gives every other parameter (embeddings,
  norms, head, biases) to AdamW, so a model with non-2-D parameters is fine: a note.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from realm_tui.armory.vram import GIB, PrecisionMode, estimate_for, galore_modules, lora_modules

if TYPE_CHECKING:
    from realm_tui.config.hero import HeroConfig
    from realm_tui.config.memory_profile import MemoryProfile

BNB_OPTIMIZERS = frozenset({"adamw_8bit", "paged_adamw_32bit", "paged_adamw_8bit", "galore_adamw_8bit"})
GALORE_OPTIMIZERS = frozenset({"galore_adamw", "galore_adamw_8bit"})


@dataclass(frozen=True)
class Environment:
    """What this machine can do for training; `trainer.environment.detect_environment()` fills it in."""

    cuda_available: bool = False
    bnb_installed: bool = False
    bnb_cuda: bool = False
    """bitsandbytes loaded its CUDA library (4-bit/8-bit matmuls and paged state on the GPU)."""
    flash_attn_installed: bool = False
    galore_installed: bool = False
    muon_available: bool = False
    """`torch.optim.Muon` exists (torch 2.9+)."""
    bf16_supported: bool = True
    """The GPU computes in bf16 (Ampere or newer); always true on a CPU."""
    vram_bytes: int | None = None
    """Total memory of the first GPU; None without one."""
    device_name: str = "cpu"

    def as_kwargs(self) -> dict[str, object]:
        """The keyword arguments `check_knobs` takes."""
        return {
            "cuda_available": self.cuda_available,
            "bnb_cuda": self.bnb_cuda,
            "flash_attn_installed": self.flash_attn_installed,
            "bnb_installed": self.bnb_installed,
            "galore_installed": self.galore_installed,
            "muon_available": self.muon_available,
            "bf16_supported": self.bf16_supported,
            "vram_bytes": self.vram_bytes,
        }


@dataclass(frozen=True)
class KnobReport:
    """`problems` refuse the battle (each says what to change); `notes` are fall-backs to know about."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _names(items: Iterable[str]) -> str:
    return ", ".join(items) or "none"


def assess_knobs(
    hero: HeroConfig,
    profile: MemoryProfile,
    *,
    cuda_available: bool,
    bnb_cuda: bool,
    flash_attn_installed: bool,
    batch_size: int | None = None,
    grad_accum: int | None = None,
    seq_len: int | None = None,
    optimizer: str | None = None,
    precision: str | None = None,
    bnb_installed: bool = True,
    galore_installed: bool = True,
    muon_available: bool = True,
    bf16_supported: bool = True,
    vram_bytes: int | None = None,
) -> KnobReport:
    """Every problem with training `hero` under `profile` on this machine, plus notes.

    `batch_size`, `grad_accum`, `seq_len`, `optimizer` and `precision` default to the hero's
    training defaults (pass what the battle will really use). With `vram_bytes` (the GPU's total
    memory) the VRAM estimate is checked too.
    """
    td = hero.training_defaults
    knobs = _Knobs(
        batch=batch_size if batch_size is not None else td.batch_size,
        accum=grad_accum if grad_accum is not None else td.gradient_accumulation,
        length=seq_len if seq_len is not None else td.max_length,
        optimizer=optimizer or td.optimizer,
        precision=precision or td.precision,
        method=profile.method,
        name=f"memory profile {profile.id}",
    )
    report = KnobReport()
    _check_method(knobs, report)
    _check_limits(knobs, profile, report)
    _check_quantization(
        knobs, profile, report, cuda_available=cuda_available, bnb_cuda=bnb_cuda, bnb_installed=bnb_installed
    )
    _check_optimizer_libraries(
        knobs,
        report,
        cuda_available=cuda_available,
        bnb_installed=bnb_installed,
        galore_installed=galore_installed,
        muon_available=muon_available,
    )
    _check_attention(knobs, profile, report, cuda_available=cuda_available, flash_attn_installed=flash_attn_installed)
    if knobs.precision == "bf16" and cuda_available and not bf16_supported:
        report.problems.append("precision bf16 needs an Ampere-or-newer GPU; this one lacks bf16: set precision fp32")
    # Only when nothing else is wrong: a slow CPU run is no news next to a refusal.
    if profile.vram_gb > 0 and not cuda_available and not report.problems:
        report.notes.append(f"{knobs.name} is sized for a {profile.vram_gb:g} GB GPU; on a CPU it will be very slow")
    _check_targets(knobs, profile, report)
    if vram_bytes is not None and cuda_available and not profile.is_cpu:
        _check_fit(hero, profile, knobs, vram_bytes, report)
    return report


@dataclass(frozen=True)
class _Knobs:
    """The knobs the battle will really use: the caller's, else the hero's training defaults."""

    batch: int
    accum: int
    length: int
    optimizer: str
    precision: str
    method: str
    name: str
    """The profile as messages name it (`memory profile <id>`)."""

    @property
    def galore_optimizer(self) -> bool:
        return self.optimizer in GALORE_OPTIMIZERS


def _check_method(knobs: _Knobs, report: KnobReport) -> None:
    """The training method and the optimizer belong together."""
    opt, method, name = knobs.optimizer, knobs.method, knobs.name
    if knobs.galore_optimizer and method in ("lora", "qlora"):
        report.problems.append(
            f"optimizer {opt} projects full weight gradients and cannot train LoRA adapters ({name} uses "
            f"method {method}): pick a GaLore profile (method galore) or an AdamW optimizer such as adamw"
        )
    elif knobs.galore_optimizer and method == "full":
        report.problems.append(
            f"optimizer {opt} needs a GaLore profile (method galore with a galore: section); {name} is "
            "method full: use optimizer adamw / adamw_8bit, or a GaLore profile"
        )
    elif method == "galore" and not knobs.galore_optimizer:
        report.problems.append(
            f"{name} is method galore, which needs optimizer galore_adamw or galore_adamw_8bit, not {opt}"
        )
    if opt == "muon" and method != "full":
        report.problems.append(
            f"optimizer muon orthogonalises full 2-D weight updates; it needs method full, not {method} "
            f"({name}): use adamw, or a full-training profile"
        )


def _check_limits(knobs: _Knobs, profile: MemoryProfile, report: KnobReport) -> None:
    """Batch size, accumulation and length within the profile's limits (and at least 1)."""
    limits = (
        (
            "batch size",
            knobs.batch,
            "max_batch_size",
            profile.max_batch_size,
            "lower the batch size and raise gradient accumulation to keep the effective batch",
        ),
        ("gradient accumulation", knobs.accum, "max_grad_accum", profile.max_grad_accum, "lower it"),
        ("sequence length", knobs.length, "max_seq_length", profile.max_seq_length, "lower max_length"),
    )
    for label, value, key, limit, fix in limits:
        if value > limit:
            report.problems.append(f"{label} {value} is above {knobs.name}'s {key} {limit}: {fix} (at most {limit})")
    if knobs.batch < 1 or knobs.accum < 1 or knobs.length < 1:
        report.problems.append("batch size, gradient accumulation and sequence length must be at least 1")


def _check_quantization(
    knobs: _Knobs,
    profile: MemoryProfile,
    report: KnobReport,
    *,
    cuda_available: bool,
    bnb_cuda: bool,
    bnb_installed: bool,
) -> None:
    """A 4-bit or 8-bit base needs bitsandbytes: with CUDA, or its CPU path on a CPU profile."""
    quant = profile.quantization.mode
    if quant == "none":
        return
    name = knobs.name
    what = "QLoRA (a 4-bit base)" if quant == "4bit" else "an 8-bit base"
    if not bnb_installed:
        report.problems.append(f"{name} stores {what}, which needs bitsandbytes: pip install bitsandbytes")
    elif not bnb_cuda and profile.is_cpu and not cuda_available:
        report.notes.append(f"{name} stores {what} through bitsandbytes' CPU path (no GPU here)")
    elif not bnb_cuda:
        report.problems.append(
            f"{name} stores {what}, which needs bitsandbytes with CUDA"
            + ("" if cuda_available else " and this machine has no CUDA GPU")
            + ": use a profile without quantization (method lora or full), or train on a CUDA machine"
        )


def _check_optimizer_libraries(
    knobs: _Knobs,
    report: KnobReport,
    *,
    cuda_available: bool,
    bnb_installed: bool,
    galore_installed: bool,
    muon_available: bool,
) -> None:
    """The optimizer's library is installed and runs on this device (or falls back, with a note)."""
    opt = knobs.optimizer
    if opt in BNB_OPTIMIZERS and not bnb_installed:
        report.problems.append(
            f"optimizer {opt} comes from bitsandbytes, which is not installed: pip install bitsandbytes"
        )
    elif opt in ("adamw_8bit", "paged_adamw_32bit", "paged_adamw_8bit") and not cuda_available:
        paged = opt.startswith("paged_")
        report.notes.append(
            f"optimizer {opt} steps on CPU tensors here"
            + ("; without a GPU there is nothing to page, its state simply lives in RAM" if paged else "")
        )
    if knobs.galore_optimizer and not galore_installed:
        report.problems.append(f"optimizer {opt} needs galore-torch: pip install galore-torch")
    if opt == "galore_adamw_8bit" and not cuda_available:
        report.problems.append(
            "optimizer galore_adamw_8bit needs CUDA (galore-torch's 8-bit step synchronises the GPU); "
            "on a CPU use galore_adamw"
        )
    if opt == "muon":
        if not muon_available:
            report.problems.append(
                "optimizer muon needs torch.optim.Muon (torch 2.9 or newer): upgrade torch or use adamw"
            )
        else:
            report.notes.append("muon trains the 2-D hidden matrices; embeddings, norms, head and biases go to AdamW")
    if opt == "adamw_torch_fused" and not cuda_available:
        report.notes.append("adamw_torch_fused is fused on CUDA only: on this machine it runs as foreach AdamW")


def _check_attention(
    knobs: _Knobs, profile: MemoryProfile, report: KnobReport, *, cuda_available: bool, flash_attn_installed: bool
) -> None:
    """flash_attention_2 needs CUDA; without the flash-attn package it falls back to sdpa."""
    if profile.attention != "flash_attention_2":
        return
    if not cuda_available:
        report.problems.append(
            f"{knobs.name} uses attention flash_attention_2, which runs on CUDA GPUs only and this machine "
            "has none: use a profile with attention sdpa (e.g. cpu_tiny)"
        )
    elif not flash_attn_installed:
        report.notes.append(
            "flash-attn is not installed: attention falls back to sdpa (pip install flash-attn for the "
            "flash kernel; sdpa also keeps attention memory linear in length)"
        )


def _check_targets(knobs: _Knobs, profile: MemoryProfile, report: KnobReport) -> None:
    """The module names the profile's LoRA or GaLore section targets match layers of the model."""
    if profile.lora is not None:
        targets = profile.lora.target_modules
        if not lora_modules(targets):
            report.problems.append(
                f"{knobs.name}: lora.target_modules {_names(targets)} match no layer of this model; "
                "use q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj or all-linear"
            )
    if profile.galore is not None and not galore_modules(profile.galore.target_modules):
        report.problems.append(
            f"{knobs.name}: galore.target_modules {_names(profile.galore.target_modules)} match no layer; "
            "use name fragments such as attn and mlp"
        )


def _check_fit(hero: HeroConfig, profile: MemoryProfile, knobs: _Knobs, vram_bytes: int, report: KnobReport) -> None:
    """The VRAM estimate fits in the GPU's memory."""
    mode: PrecisionMode | None = "fp32" if knobs.precision == "fp32" else None
    est = estimate_for(hero, profile, knobs.batch, knobs.length, precision=mode, optimizer=knobs.optimizer)
    if est.total > vram_bytes:
        report.problems.append(
            f"the estimate is {est.total / GIB:.1f} GiB but the GPU has {vram_bytes / GIB:.1f} GiB: lower the "
            f"batch size ({knobs.batch}) or sequence length ({knobs.length}), or pick a leaner profile "
            "(realm armory suggest)"
        )


def check_knobs(hero: HeroConfig, profile: MemoryProfile, **machine: Any) -> list[str]:
    """The problems that refuse this battle, one message each (empty: good to go).

    Same keyword arguments as `assess_knobs`; use that to get the notes (fall-backs) as well.
    """
    return assess_knobs(hero, profile, **machine).problems


def knob_message(hero_id: str, problems: list[str]) -> str:
    """One line per problem, each naming the hero (the problem names the profile and what to change);
    the parent's preflight and the trainer's own check refuse with the same text."""
    return "\n".join(f"hero {hero_id}: {p}" for p in problems)
