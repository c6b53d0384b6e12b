"""Memory profiles (`configs/memory_profiles/*.yaml`): the knobs that make a model fit in memory."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, model_validator

from realm_tui.config.common import (
    Method,
    Optimizer,
    Slug,
    is_8bit_optimizer,
    is_paged_optimizer,
    optimizer_problem,
)
from realm_tui.config.loader import ExactModel
from realm_tui.errors import InputError


class LoraSpec(ExactModel):
    """Low-rank adapters (PEFT LoRA) trained on top of a frozen base."""

    r: int = Field(default=16, ge=1, le=1024)
    """Adapter rank."""
    alpha: float = Field(default=32.0, gt=0)
    """Scaling numerator: the adapter output is multiplied by alpha / r."""
    dropout: float = Field(default=0.05, ge=0, lt=1)
    """Dropout on the adapter input."""
    target_modules: list[str] = Field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        min_length=1,
    )
    """Module names that get adapters; `["all-linear"]` means every linear layer but the head."""


class GaloreSpec(ExactModel):
    """GaLore: full-parameter training with gradients projected to a low rank."""

    rank: int = Field(default=128, ge=1)
    """Rank of the gradient projection."""
    update_proj_gap: int = Field(default=200, ge=1)
    """Optimizer steps between recomputing the projection (an SVD per matrix)."""
    scale: float = Field(default=0.25, gt=0)
    """Scale applied to the projected update."""
    target_modules: list[str] = Field(default_factory=lambda: ["attn", "mlp"], min_length=1)
    """Name fragments of the 2-D weights that get projected; the rest use plain AdamW."""


class QuantizationSpec(ExactModel):
    """How the frozen base weights are stored (bitsandbytes)."""

    mode: Literal["none", "4bit", "8bit"] = "none"
    """`none` (bf16/fp32 weights), `4bit` (QLoRA) or `8bit` (LLM.int8 base for LoRA)."""
    bnb_4bit_quant_type: Literal["nf4", "fp4"] = "nf4"
    """4-bit data type; nf4 suits normally distributed weights."""
    double_quant: bool = True
    """Quantize the quantization constants too (saves ~0.4 bit per weight)."""
    compute_dtype: Literal["bf16", "fp16", "fp32"] = "bf16"
    """Dtype that quantized matmuls compute in."""


class SizeRange(ExactModel):
    """A range of model sizes in billions of parameters; YAML may also write `[min, max]`."""

    min: float = Field(ge=0)
    """Smallest recommended model, in billions of parameters."""
    max: float = Field(gt=0)
    """Largest recommended model, in billions of parameters."""

    @model_validator(mode="before")
    @classmethod
    def _from_pair(cls, data: Any) -> Any:
        if isinstance(data, list | tuple) and len(data) == 2:
            return {"min": data[0], "max": data[1]}
        return data

    @model_validator(mode="after")
    def _ordered(self) -> SizeRange:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is larger than max ({self.max})")
        return self

    def covers(self, size_b: float) -> bool:
        return self.min <= size_b <= self.max


class MemoryProfile(ExactModel):
    """One memory profile: training method, quantization, attention, optimizer and limits."""

    id: Slug
    """Profile id; equals the file name without `.yaml`."""
    description: str = ""
    """One or two sentences for the Armory."""
    method: Method
    """`full`, `lora`, `qlora` (4-bit base + LoRA) or `galore`."""
    lora: LoraSpec | None = None
    """Adapter settings: required for lora and qlora, not allowed otherwise."""
    galore: GaloreSpec | None = None
    """Projection settings: required for galore, not allowed otherwise."""
    quantization: QuantizationSpec = Field(default_factory=QuantizationSpec)
    """Base weight storage: 4bit is required for qlora; 8bit only for lora; none otherwise."""
    gradient_checkpointing: bool = True
    """Recompute activations in the backward pass instead of storing them."""
    attention: Literal["sdpa", "flash_attention_2", "eager"] = "sdpa"
    """Attention kernel; flash_attention_2 falls back to sdpa when it is not installed."""
    optimizer: Optimizer = "adamw_torch_fused"
    """The optimizer this profile is designed around."""
    optimizer_args: dict[str, Any] = Field(default_factory=dict)
    """Extra keyword arguments for the optimizer (betas, eps, ...)."""
    max_batch_size: int = Field(ge=1)
    """Largest micro-batch that fits at `max_seq_length`."""
    max_grad_accum: int = Field(default=64, ge=1)
    """Largest sensible gradient accumulation."""
    max_seq_length: int = Field(ge=8)
    """Longest training sequence, in tokens, that fits."""
    recommended_model_sizes_b: SizeRange
    """Model sizes (billions of parameters) this profile is meant for."""
    vram_gb: float = Field(ge=0)
    """Peak GPU memory the profile is expected to use at its limits, in GB; 0 for a CPU profile."""

    @model_validator(mode="after")
    def _consistent(self) -> MemoryProfile:
        adapters = self.method in ("lora", "qlora")
        if adapters and self.lora is None:
            raise ValueError(f"lora: required for method {self.method}")
        if not adapters and self.lora is not None:
            raise ValueError(f"lora: only allowed with method lora or qlora, not {self.method}")
        if self.method == "galore" and self.galore is None:
            raise ValueError("galore: required for method galore")
        if self.method != "galore" and self.galore is not None:
            raise ValueError(f"galore: only allowed with method galore, not {self.method}")
        quant = self.quantization.mode
        if self.method == "qlora" and quant != "4bit":
            raise ValueError(f"quantization.mode: method qlora needs 4bit, not {quant}")
        if self.method == "lora" and quant == "4bit":
            raise ValueError("quantization.mode: 4bit with adapters is method qlora, not lora")
        if self.method in ("full", "galore") and quant != "none":
            raise ValueError(f"quantization.mode: must be none for method {self.method}, which trains the weights")
        problem = optimizer_problem(self.method, self.optimizer)
        if problem:
            raise ValueError(f"optimizer: {problem}")
        if self.vram_gb == 0 and self.attention == "flash_attention_2":
            raise ValueError("attention: flash_attention_2 needs a GPU; a CPU profile (vram_gb 0) uses sdpa")
        return self

    @property
    def is_cpu(self) -> bool:
        """A CPU profile (vram_gb 0)."""
        return self.vram_gb == 0


class NoProfileFits(InputError):
    """No memory profile suits the model size and memory asked for."""


METHOD_PREFERENCE: tuple[str, ...] = ("full", "lora", "qlora", "galore")
"""Order `suggest_profile` prefers methods in: most faithful and fastest first; GaLore is opt-in."""


def suggest_profile(
    model_size_b: float,
    vram_gb: float,
    profiles: Mapping[str, MemoryProfile],
    prefer: str | None = None,
) -> MemoryProfile:
    """Pick a profile for a model of `model_size_b` billion parameters on `vram_gb` GB of GPU memory.

    Candidates are the profiles whose recommended size range covers the model and whose
    `vram_gb` is at most the memory available (`vram_gb=0` means CPU: only CPU profiles fit; with a GPU,
    only GPU profiles).
    The choice is deterministic: a candidate using the `prefer`red method first, then by method
    (full, lora, qlora, galore), GPU profiles before CPU ones when there is a GPU, full-precision
    optimizer state before 8-bit, unpaged before paged, then by id.
    """
    if model_size_b <= 0:
        raise InputError(None, f"model size must be positive, got {model_size_b}B")
    if vram_gb < 0:
        raise InputError(None, f"GPU memory cannot be negative, got {vram_gb} GB")
    if prefer is not None and prefer not in METHOD_PREFERENCE:
        raise InputError(None, f"unknown method {prefer!r}; choose one of {', '.join(METHOD_PREFERENCE)}")
    # A GPU machine is offered GPU profiles only: a CPU profile would leave the GPU idle.
    fits = [
        p
        for p in profiles.values()
        if p.recommended_model_sizes_b.covers(model_size_b) and p.vram_gb <= vram_gb and p.is_cpu == (vram_gb == 0)
    ]
    if not fits:
        where = f"{vram_gb:g} GB of GPU memory" if vram_gb > 0 else "a CPU"
        sized = sorted(p.id for p in profiles.values() if p.recommended_model_sizes_b.covers(model_size_b))
        hint = (
            f"profiles for this size need more memory: {', '.join(sized)}"
            if sized
            else "no profile is meant for this size"
        )
        raise NoProfileFits(None, f"no memory profile fits a {model_size_b:g}B model on {where} ({hint})")

    def rank(p: MemoryProfile) -> tuple[bool, int, bool, bool, bool, str]:
        return (
            prefer is not None and p.method != prefer,
            METHOD_PREFERENCE.index(p.method),
            vram_gb > 0 and p.is_cpu,
            is_8bit_optimizer(p.optimizer),
            is_paged_optimizer(p.optimizer),
            p.id,
        )

    return min(fits, key=rank)
