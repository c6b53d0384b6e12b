"""The VRAM calculator: how much memory a training setup needs, component by component.

Pure Python (no torch), so the Armory can show it live and `realm armory vram` answers instantly.

    total = weights + gradients + optimizer state + activations + overhead

* **weights**: every parameter at its storage width: 4 bytes (fp32), 2 (bf16), 1 + a per-row fp32
  scale (LLM.int8), or 4 bits + block constants for NF4/FP4 (64-weight blocks with an fp32 absmax
  = 4.5 bits; double quantization stores the absmax in 8 bits with one fp32 constant per 256
  blocks = 4 + 8/64 + 32/(64·256) ≈ 4.127 bits: Dettmers et al. 2023, "QLoRA", §3). Only the
  decoder linears are quantized; embeddings, head and norms stay at the compute width. LoRA
  adapters are fp32 (PEFT's default `autocast_adapter_dtype=True`).
* **gradients**: one per trainable parameter, at the parameter's width.
* **optimizer state**: AdamW keeps two moments per trainable parameter in the parameter's dtype
  (fp32, or bf16 when the weights are pure bf16); bitsandbytes 8-bit keeps two bytes plus an fp32
  absmax per 256 values (tensors under 4096 values stay 32-bit); paged optimizers keep their state
  in CUDA unified memory, which pages out to the CPU under pressure: reported as **CPU-side**
  (`cpu_offload`), not in the total; GaLore keeps the two moments of each projected matrix at
  rank r (r × max(m, n) each) plus its projection (r × min(m, n)); Muon keeps one momentum buffer
  per 2-D hidden matrix and AdamW's two moments for everything else; `bf16_master` adds an fp32
  master copy of the trainable weights.
* **activations**: what autograd saves for the backward pass, per token and decoder layer:

      per_layer = b·s·(c_h·h + c_i·i + c_q·n_heads·d + c_kv·n_kv·d) [+ b·n_heads·s²·c_score, eager only]

  The method is Korthikanti et al. 2022 ("Reducing Activation Recomputation in Large Transformer
  Models", arXiv:2205.05198: s·b·h·(34 + 5·a·s/h) bytes per GPT-3 layer): count every tensor
  saved for backward. The coefficients (bytes, in `activations.py`) were counted the same way
  for the Hugging Face Qwen3 implementation (transformers 5.23, `torch.autograd.graph.saved_tensors_hooks`,
  `tests/unit/armory/test_vram_activations.py` re-measures them); they differ from GPT-3's 34·h
  because Qwen3 has a SwiGLU MLP, grouped-query attention and RMSNorms that upcast to fp32.
  `sdpa` and `flash_attention_2` keep O(s) per head (q, k, v, output, log-sum-exp); `eager`
  materialises the s×s scores (fp32 softmax + its bf16 copy). With gradient checkpointing each
  layer keeps only its input (b·s·h at the residual width) and one layer is recomputed at a time.
  LoRA adds, per adapted linear, its rank-r intermediate (fp32), its dropout output (fp32) and,
  over a bf16/quantized base, the fp32 cast of its input. Autocast (`amp_bf16`) keeps a bf16 copy
  of each weight until the backward pass. The loss adds the logits: n·V·(saved log-softmax +
  logits + fp32 gradient buffers) — large for Qwen's 152k vocabulary — where n is the positions
  the head projects: every token (b·s) by default, what a plain Hugging Face loss computes; the
  trainer projects only the trained (labelled) positions (`logit_tokens`), a fraction of a chat
  step's tokens. A hero with `micro_batch_tokens` (and packing) trains a step in passes of at
  most that many tokens, an example longer than the budget alone, accumulating the gradients:
  only one pass's activations are alive, so b·s becomes min(b·s, max(budget, s)) tokens
  (`activations.tokens_per_pass`; the same on a GPU and a CPU).
* **overhead**: the CUDA context with cuBLAS workspaces (~0.75 GiB; commonly 0.5–1 GB), 5 % for
  the caching allocator's fragmentation, and transient buffers: bitsandbytes dequantizes one
  4-bit matrix to bf16 per matmul, Muon's Newton–Schulz iteration works on a bf16 copy of the
  largest matrix and its Gram matrix, GaLore's SVD on an fp32 copy. On a CPU profile the
  overhead is the process itself (Python, torch, transformers: ~0.5 GiB resident).

`bench/vram_reference.py` compares these estimates with published fine-tuning memory tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from realm_tui.armory.activations import (
    PRECISION_MODES,
    Attention,
    PrecisionMode,
    activation_breakdown,
    eager_scores_bytes,
    tokens_per_pass,
)
from realm_tui.armory.activations import ActivationBreakdown as ActivationBreakdown  # re-exported
from realm_tui.armory.arch import LINEAR_MODULES, ModelArch
from realm_tui.armory.hero_arch import arch_for_hero
from realm_tui.armory.targets import galore_modules, lora_modules, lora_params

if TYPE_CHECKING:
    from realm_tui.config.hero import HeroConfig
    from realm_tui.config.memory_profile import MemoryProfile

GIB = 1 << 30
MIB = 1 << 20

Device = Literal["cuda", "cpu"]

CUDA_CONTEXT_BYTES = 768 * MIB
"""CUDA context + cuBLAS/cuDNN workspaces of a torch process (commonly 0.5-1 GB)."""
CPU_PROCESS_BYTES = 512 * MIB
"""Resident memory of a Python process with torch and transformers loaded, before any model."""
FRAGMENTATION = 0.05
"""Share of the allocations the CUDA caching allocator holds on top (fragmentation, rounding)."""

BNB_BLOCK = 256
"""bitsandbytes 8-bit optimizers quantize state in blocks of 256 values with an fp32 absmax each."""
BNB_MIN_8BIT_SIZE = 4096
"""bitsandbytes keeps 32-bit state for tensors smaller than this (`min_8bit_size`)."""

NF4_BITS = 4 + 32 / 64
"""4-bit weights with one fp32 absmax per 64-weight block."""
NF4_DOUBLE_QUANT_BITS = 4 + 8 / 64 + 32 / (64 * 256)
"""... with the absmax quantized to 8 bits and one fp32 constant per 256 blocks (QLoRA §3)."""


@dataclass(frozen=True)
class _PrecisionBytes:
    weight: int
    grad: int
    state: int
    master: int


_PRECISIONS: dict[str, _PrecisionBytes] = {
    "fp32": _PrecisionBytes(4, 4, 4, 0),
    "amp_bf16": _PrecisionBytes(4, 4, 4, 0),
    "bf16": _PrecisionBytes(2, 2, 2, 0),
    "bf16_master": _PrecisionBytes(2, 2, 4, 4),
}

DEFAULT_LORA_TARGETS: tuple[str, ...] = LINEAR_MODULES
DEFAULT_GALORE_TARGETS: tuple[str, ...] = ("attn", "mlp")


@dataclass(frozen=True)
class VramEstimate:
    """Memory needed to train, by component, in bytes (`gib()` for GiB). `total` is device memory."""

    weights: int
    gradients: int
    optimizer_state: int
    activations: int
    overhead: int
    cpu_offload: int = 0
    """Bytes kept in CPU memory instead (paged optimizer state); not part of `total`."""
    total_params: int = 0
    trainable_params: int = 0
    device: Device = "cuda"
    arch: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def total(self) -> int:
        return self.weights + self.gradients + self.optimizer_state + self.activations + self.overhead

    @property
    def total_gib(self) -> float:
        return self.total / GIB

    def components(self) -> list[tuple[str, int]]:
        """`(name, bytes)` for each part of the total, in display order."""
        return [
            ("weights", self.weights),
            ("gradients", self.gradients),
            ("optimizer state", self.optimizer_state),
            ("activations", self.activations),
            ("overhead", self.overhead),
        ]

    @staticmethod
    def gib(n_bytes: int | float) -> float:
        return n_bytes / GIB


def _bnb_state_bytes(numel: int, n_states: int) -> float:
    """bitsandbytes 8-bit state for one tensor: 8 bits + fp32 absmax per block, or 32-bit if small."""
    if numel < BNB_MIN_8BIT_SIZE:
        return n_states * 4.0 * numel
    blocks = -(-numel // BNB_BLOCK)
    return n_states * (numel + 4.0 * blocks)


def _tensor_sizes(arch: ModelArch) -> list[tuple[str, int, bool]]:
    """Every trainable tensor of a full model as `(module, numel, is_hidden_matrix)`."""
    sizes: list[tuple[str, int, bool]] = []
    for _ in range(arch.num_layers):
        for name, (i, o) in arch.linear_shapes().items():
            sizes.append((name, i * o, True))
        sizes.append(("norm", arch.hidden_size, False))
        sizes.append(("norm", arch.hidden_size, False))
        if arch.qk_norm:
            sizes.append(("norm", arch.head_dim, False))
            sizes.append(("norm", arch.head_dim, False))
    sizes.append(("embed", arch.embedding_params, False))
    if arch.head_params:
        sizes.append(("head", arch.head_params, False))
    sizes.append(("norm", arch.hidden_size, False))
    return sizes


Quantization = Literal["none", "4bit", "8bit"]


@dataclass(frozen=True)
class _Setup:
    """The settings of one estimate, checked and normalized (`qlora` implies a 4-bit base)."""

    method: str
    optimizer: str
    precision: PrecisionMode
    batch_size: int
    seq_len: int
    gradient_checkpointing: bool
    attention: Attention
    lora_r: int
    lora_targets: Sequence[str]
    lora_dropout: float
    quantization: Quantization
    double_quant: bool
    galore_rank: int
    galore_targets: Sequence[str]
    device: Device
    context_bytes: int | None
    logit_tokens: int | None = None
    micro_batch_tokens: int = 0

    @property
    def adapters(self) -> bool:
        """LoRA or QLoRA: a frozen base with trainable fp32 adapters."""
        return self.method in ("lora", "qlora")

    @property
    def widths(self) -> _PrecisionBytes:
        return _PRECISIONS[self.precision]


@dataclass(frozen=True)
class _Trainable:
    """The weights and what is trained: bytes of all weights, trainable count and widths."""

    weights: float
    params: int
    grad_width: int
    state_width: int
    adapted: list[str]
    """The decoder linears LoRA adapts (empty without adapters)."""


def estimate_vram(
    arch: ModelArch,
    *,
    method: str = "full",
    optimizer: str = "adamw",
    precision: PrecisionMode = "bf16",
    batch_size: int = 1,
    seq_len: int = 1024,
    gradient_checkpointing: bool = True,
    attention: Attention = "sdpa",
    lora_r: int = 16,
    lora_targets: Sequence[str] = DEFAULT_LORA_TARGETS,
    lora_dropout: float = 0.05,
    quantization: Quantization = "none",
    double_quant: bool = True,
    galore_rank: int = 128,
    galore_targets: Sequence[str] = DEFAULT_GALORE_TARGETS,
    device: Device = "cuda",
    context_bytes: int | None = None,
    logit_tokens: int | None = None,
    micro_batch_tokens: int = 0,
) -> VramEstimate:
    """Estimate the peak memory of one training step; see the module docstring for every formula.

    `logit_tokens`: how many positions of the step the loss trains (the trainer's head projects only
    those); None prices logits for every token, the most a step can need. `micro_batch_tokens`:
    the trainer's token budget per forward/backward pass (0: the whole step in one pass), which
    bounds the activations (`activations.tokens_per_pass`)."""
    if method not in ("full", "lora", "qlora", "galore"):
        raise ValueError(f"unknown method {method!r}: full, lora, qlora or galore")
    if precision not in _PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}: {', '.join(PRECISION_MODES)}")
    if batch_size < 1 or seq_len < 1:
        raise ValueError("batch_size and seq_len must be positive")
    setup = _Setup(
        method=method,
        optimizer=optimizer,
        precision=precision,
        batch_size=batch_size,
        seq_len=seq_len,
        gradient_checkpointing=gradient_checkpointing,
        attention=attention,
        lora_r=lora_r,
        lora_targets=lora_targets,
        lora_dropout=lora_dropout,
        quantization="4bit" if method == "qlora" and quantization == "none" else quantization,
        double_quant=double_quant,
        galore_rank=galore_rank,
        galore_targets=galore_targets,
        device=device,
        context_bytes=context_bytes,
        logit_tokens=logit_tokens,
        micro_batch_tokens=micro_batch_tokens,
    )
    # Each step appends its notes in turn: their order is the order the Armory shows them.
    notes = [_arch_note(arch)]
    trainable = _weights(arch, setup, notes)
    gradients = trainable.params * trainable.grad_width
    state, cpu_offload = _optimizer_state(arch, setup, trainable, notes)
    activations = _activations(arch, setup, notes)
    allocations = trainable.weights + gradients + state + activations
    overhead = _overhead(arch, setup, allocations, notes)
    return VramEstimate(
        weights=int(trainable.weights),
        gradients=int(gradients),
        optimizer_state=int(state),
        activations=int(activations),
        overhead=int(overhead),
        cpu_offload=cpu_offload,
        total_params=arch.total_params,
        trainable_params=trainable.params,
        device=device,
        arch=arch.name,
        notes=tuple(notes),
    )


def _arch_note(arch: ModelArch) -> str:
    """Where the architecture's shape came from (and whether it is a guess)."""
    if arch.approximate:
        return f"{arch.name}: architecture guessed from the parameter count; figures are approximate"
    if arch.source not in ("preset", ""):
        return f"architecture from {arch.source}"
    return f"architecture: the published {arch.name} config (built in)"


def _weights(arch: ModelArch, setup: _Setup, notes: list[str]) -> _Trainable:
    """Every weight at its storage width, and which of them train at which width."""
    p = setup.widths
    n_total = arch.total_params
    if not setup.adapters:
        return _Trainable(n_total * p.weight, n_total, p.grad, p.state, [])
    base_width = 4 if setup.precision in ("fp32", "amp_bf16") else 2  # the frozen base's storage
    linear_bytes: float
    if setup.quantization == "4bit":
        bits = NF4_DOUBLE_QUANT_BITS if setup.double_quant else NF4_BITS
        linear_bytes = arch.linear_params * bits / 8
        notes.append(
            f"4-bit base: {bits:.3f} bits per decoder weight"
            + (" (double quantization)" if setup.double_quant else "")
            + "; embeddings, head and norms stay 16-bit"
        )
    elif setup.quantization == "8bit":
        rows = arch.num_layers * sum(o for _, o in arch.linear_shapes().values())
        linear_bytes = arch.linear_params * 1.0 + 4.0 * rows
    else:
        linear_bytes = arch.linear_params * base_width
    other_width = 2 if setup.quantization != "none" else base_width
    n_trainable = lora_params(arch, setup.lora_r, setup.lora_targets)
    weights = linear_bytes + arch.other_params * other_width + n_trainable * 4
    adapted = lora_modules(setup.lora_targets)
    notes.append(
        f"LoRA r={setup.lora_r} on {', '.join(adapted) or 'nothing'}: "
        f"{n_trainable:,} trainable ({100 * n_trainable / n_total:.2f} % of {n_total:,})"
    )
    return _Trainable(weights, n_trainable, 4, 4, adapted)  # adapters are fp32


def _optimizer_state(arch: ModelArch, setup: _Setup, trainable: _Trainable, notes: list[str]) -> tuple[float, int]:
    """`(device bytes, CPU-side bytes)` of the optimizer state (paged state counts as CPU-side)."""
    optimizer = setup.optimizer
    projected = set(galore_modules(setup.galore_targets)) if optimizer.startswith("galore") else set()
    state = _state_bytes(arch, setup, trainable, projected)
    if projected:
        notes.append(
            f"GaLore rank {setup.galore_rank} on {', '.join(sorted(projected))}; other tensors use full AdamW state"
        )
    if optimizer == "muon":
        notes.append("Muon: one momentum buffer per 2-D hidden matrix; AdamW (two moments) for embeddings, head, norms")
    if setup.widths.master and not setup.adapters:
        state += trainable.params * setup.widths.master
        notes.append("bf16 weights with an fp32 master copy (counted as optimizer state)")
    if setup.precision == "bf16" and not setup.adapters and optimizer in ("adamw", "adamw_torch_fused", "muon"):
        notes.append("pure bf16: torch keeps the optimizer moments in bf16 too")
    if not optimizer.startswith("paged_"):
        return state, 0
    cpu_offload = int(state)
    notes.append(
        f"paged optimizer: {cpu_offload / GIB:.2f} GiB of state can live in CPU memory "
        "(unified memory pages it back to the GPU when there is room)"
    )
    return 0.0, cpu_offload


def _state_bytes(arch: ModelArch, setup: _Setup, trainable: _Trainable, projected: set[str]) -> float:
    """The optimizer's state, tensor by tensor (GaLore-projected matrices at their rank)."""
    shapes = arch.linear_shapes()
    optimizer, state_width = setup.optimizer, trainable.state_width
    if setup.adapters:
        tensor_sizes = [
            (m, r_numel, True)
            for _ in range(arch.num_layers)
            for m in trainable.adapted
            for r_numel in (setup.lora_r * shapes[m][0], setup.lora_r * shapes[m][1])
        ]
    else:
        tensor_sizes = _tensor_sizes(arch)
    state = 0.0
    for module, numel, hidden in tensor_sizes:
        if module in projected:
            i, o = shapes[module]  # torch stores the weight as (out, in)
            rank = min(setup.galore_rank, i, o)
            low = rank * max(i, o)
            moments = _bnb_state_bytes(low, 2) if optimizer == "galore_adamw_8bit" else 2 * low * state_width
            state += moments + rank * min(i, o) * state_width
        elif optimizer in ("adamw_8bit", "paged_adamw_8bit", "galore_adamw_8bit"):
            state += _bnb_state_bytes(numel, 2)
        elif optimizer == "paged_adamw_32bit":
            state += 2 * numel * 4  # bitsandbytes 32-bit state is fp32 whatever the parameter dtype
        elif optimizer == "muon" and hidden:
            state += numel * state_width  # one momentum buffer
        else:
            state += 2 * numel * state_width
    return state


def _activations(arch: ModelArch, setup: _Setup, notes: list[str]) -> int:
    """What autograd saves for the backward pass (`activation_breakdown`), with its notes."""
    acts = activation_breakdown(
        arch,
        precision=setup.precision,
        batch_size=setup.batch_size,
        seq_len=setup.seq_len,
        gradient_checkpointing=setup.gradient_checkpointing,
        attention=setup.attention,
        lora_r=setup.lora_r if setup.adapters else 0,
        lora_targets=setup.lora_targets,
        lora_dropout=setup.lora_dropout,
        quantized=setup.quantization != "none",
        logit_tokens=setup.logit_tokens,
        token_budget=setup.micro_batch_tokens,
    )
    activations = acts.total
    if not setup.gradient_checkpointing:
        notes.append("gradient checkpointing off: every layer's activations stay until the backward pass")
    step_tokens = setup.batch_size * setup.seq_len
    tokens = tokens_per_pass(setup.batch_size, setup.seq_len, setup.micro_batch_tokens)
    if tokens < step_tokens:
        notes.append(
            f"micro-batches of at most {setup.micro_batch_tokens:,} tokens (micro_batch_tokens): "
            f"activations for {tokens:,} of the step's {step_tokens:,} tokens at a time"
        )
    logits = tokens if setup.logit_tokens is None else min(tokens, setup.logit_tokens)
    if acts.head_peak > 0.25 * activations:
        counted = f"{logits:,} trained of {tokens:,} tokens" if logits < tokens else f"{tokens:,} tokens"
        notes.append(
            f"logits and loss: {acts.head_peak / GIB:.2f} GiB ({arch.vocab_size:,}-token vocabulary × {counted})"
        )
    if setup.attention == "eager":
        seq_len = setup.seq_len
        scores = eager_scores_bytes(arch, setup.precision, setup.batch_size, seq_len)
        layers_holding = 1 if setup.gradient_checkpointing else arch.num_layers
        notes.append(f"eager attention stores the s×s scores: {layers_holding * scores / GIB:.2f} GiB at s={seq_len}")
    return activations


def _overhead(arch: ModelArch, setup: _Setup, allocations: float, notes: list[str]) -> float:
    """The CUDA context (or the CPU process), fragmentation and transient buffers."""
    optimizer = setup.optimizer
    transient = 0.0
    if setup.quantization == "4bit" or setup.quantization == "8bit":
        transient += arch.largest_linear * 2  # one matrix dequantized to bf16 at a time
    if optimizer == "muon":
        # one matrix at a time: its bf16 copy and the next iterate, the Gram matrix and its update
        transient += max(4 * i * o + 4 * min(i, o) ** 2 for i, o in arch.linear_shapes().values())
    if optimizer.startswith("galore"):
        transient += arch.largest_linear * 4 * 2  # SVD of one gradient in fp32 when the projection refreshes
    if setup.device == "cuda":
        context = CUDA_CONTEXT_BYTES if setup.context_bytes is None else setup.context_bytes
        return context + FRAGMENTATION * allocations + transient
    notes.append("CPU profile: this is process memory (RAM), not VRAM")
    return (CPU_PROCESS_BYTES if setup.context_bytes is None else setup.context_bytes) + transient


def default_precision(hero: HeroConfig, profile: MemoryProfile) -> PrecisionMode:
    """The precision a battle would use: fp32 when the hero asks for it; on a CPU profile the
    trainer's fp32 weights with bf16 autocast; on a GPU profile bf16 weights (what the shipped GPU
    profiles are sized for)."""
    wanted = hero.training_defaults.precision
    if wanted == "fp32":
        return "fp32"
    if profile.is_cpu:
        return "amp_bf16"
    return "bf16"


def estimate_for(
    hero: HeroConfig,
    profile: MemoryProfile,
    batch_size: int | None = None,
    seq_len: int | None = None,
    *,
    precision: PrecisionMode | None = None,
    optimizer: str | None = None,
    realm_root: Path | None = None,
    logit_tokens: int | None = None,
) -> VramEstimate:
    """The estimate for a hero trained under a memory profile (batch and length: the hero's defaults).

    The optimizer is the hero's `training_defaults.optimizer` unless given. `realm_root` lets a
    relative `hf_name` folder be found (its config.json gives the exact shape). The hero's
    `micro_batch_tokens` bounds the activations where its examples are packed (unpacked, a
    micro-batch is padded to its longest example and may hold more than its budget: the whole
    step is priced).
    """
    td = hero.training_defaults
    return estimate_with_profile(
        arch_for_hero(hero, realm_root),
        profile,
        optimizer=optimizer or td.optimizer,
        precision=precision or default_precision(hero, profile),
        batch_size=batch_size or td.batch_size,
        seq_len=seq_len or td.max_length,
        logit_tokens=logit_tokens,
        micro_batch_tokens=td.micro_batch_tokens if td.packing else 0,
    )


def estimate_with_profile(
    arch: ModelArch,
    profile: MemoryProfile,
    *,
    optimizer: str,
    precision: PrecisionMode,
    batch_size: int,
    seq_len: int,
    logit_tokens: int | None = None,
    micro_batch_tokens: int = 0,
) -> VramEstimate:
    """The calculator for `arch` with the method, LoRA/GaLore/quantization and attention of `profile`."""
    lora, galore, quant = profile.lora, profile.galore, profile.quantization
    return estimate_vram(
        arch,
        method=profile.method,
        optimizer=optimizer,
        precision=precision,
        batch_size=batch_size,
        seq_len=seq_len,
        gradient_checkpointing=profile.gradient_checkpointing,
        attention=profile.attention,
        lora_r=lora.r if lora else 16,
        lora_targets=tuple(lora.target_modules) if lora else DEFAULT_LORA_TARGETS,
        lora_dropout=lora.dropout if lora else 0.0,
        quantization=quant.mode,
        double_quant=quant.double_quant,
        galore_rank=galore.rank if galore else 128,
        galore_targets=tuple(galore.target_modules) if galore else DEFAULT_GALORE_TARGETS,
        device="cpu" if profile.is_cpu else "cuda",
        logit_tokens=logit_tokens,
        micro_batch_tokens=micro_batch_tokens,
    )
