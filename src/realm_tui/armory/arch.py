"""Model shapes for the VRAM calculator: Qwen3 presets, dio-nano, and shapes guessed from a size.

Pure Python: no torch. Every count here follows the Hugging Face Qwen3 / Llama layout: per decoder
layer q/k/v/o projections (grouped-query attention), a SwiGLU MLP (gate, up, down), two RMSNorms
and, for Qwen3, RMSNorms on the query and key heads; no biases.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from realm_tui.config.hero import NanoSpec

LINEAR_MODULES: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
"""The linear layers of one decoder layer, by their Hugging Face names."""

MODULE_PATHS: dict[str, str] = {
    "q_proj": "self_attn.q_proj",
    "k_proj": "self_attn.k_proj",
    "v_proj": "self_attn.v_proj",
    "o_proj": "self_attn.o_proj",
    "gate_proj": "mlp.gate_proj",
    "up_proj": "mlp.up_proj",
    "down_proj": "mlp.down_proj",
}
"""Where each linear sits inside a decoder layer (what GaLore's name fragments are matched against)."""

NANO_VOCAB_SIZES: dict[str, int] = {"bytes+chars": 2556, "bytes": 259}
"""dio-nano's tokenizer sizes: 3 specials + 256 byte tokens (+ the skill characters for `bytes+chars`).

Counted from `realm_tui.trainer.nano.build_tokenizer()`; kept here as numbers so the calculator
stays free of torch and tokenizers.
"""


@dataclass(frozen=True)
class ModelArch:
    """The shape of a decoder-only transformer, enough to count parameters and activations."""

    name: str
    hidden_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    intermediate_size: int
    vocab_size: int
    tie_word_embeddings: bool = False
    qk_norm: bool = True
    """Qwen3 normalises each query and key head (RMSNorm over `head_dim`); Llama does not."""
    approximate: bool = False
    """True when the shape was guessed from a parameter count rather than read from a config."""
    source: str = field(default="preset", compare=False)
    """Where the shape came from: `preset`, `nano spec`, `config.json in <folder>`, `guessed from size_b`."""

    def __post_init__(self) -> None:
        for field_name in ("hidden_size", "num_layers", "num_heads", "num_kv_heads", "head_dim"):
            if getattr(self, field_name) < 1:
                raise ValueError(f"{field_name} must be positive")
        if self.intermediate_size < 1 or self.vocab_size < 1:
            raise ValueError("intermediate_size and vocab_size must be positive")
        if self.num_heads % self.num_kv_heads:
            raise ValueError(f"num_kv_heads ({self.num_kv_heads}) must divide num_heads ({self.num_heads})")

    @property
    def q_dim(self) -> int:
        """Width of all query heads together (`num_heads * head_dim`)."""
        return self.num_heads * self.head_dim

    @property
    def kv_dim(self) -> int:
        """Width of all key (or value) heads together (`num_kv_heads * head_dim`)."""
        return self.num_kv_heads * self.head_dim

    def linear_shapes(self) -> dict[str, tuple[int, int]]:
        """`(in_features, out_features)` of each linear layer of one decoder layer."""
        h, q, kv, i = self.hidden_size, self.q_dim, self.kv_dim, self.intermediate_size
        return {
            "q_proj": (h, q),
            "k_proj": (h, kv),
            "v_proj": (h, kv),
            "o_proj": (q, h),
            "gate_proj": (h, i),
            "up_proj": (h, i),
            "down_proj": (i, h),
        }

    @property
    def layer_linear_params(self) -> int:
        """Weights in the linear layers of one decoder layer."""
        return sum(i * o for i, o in self.linear_shapes().values())

    @property
    def layer_norm_params(self) -> int:
        """RMSNorm weights of one decoder layer (two norms, plus q/k head norms for Qwen3)."""
        return 2 * self.hidden_size + (2 * self.head_dim if self.qk_norm else 0)

    @property
    def embedding_params(self) -> int:
        return self.vocab_size * self.hidden_size

    @property
    def head_params(self) -> int:
        """The LM head; 0 when it shares the embedding matrix."""
        return 0 if self.tie_word_embeddings else self.vocab_size * self.hidden_size

    @property
    def linear_params(self) -> int:
        """Weights of every decoder linear layer: what LoRA, GaLore, Muon and 4-bit quantization act on."""
        return self.num_layers * self.layer_linear_params

    @property
    def other_params(self) -> int:
        """Everything that is not a decoder linear: embeddings, head and norms (never quantized)."""
        return self.embedding_params + self.head_params + self.num_layers * self.layer_norm_params + self.hidden_size

    @property
    def total_params(self) -> int:
        return self.linear_params + self.other_params

    @property
    def largest_linear(self) -> int:
        """Elements of the biggest matrix in a decoder layer."""
        return max(i * o for i, o in self.linear_shapes().values())

    def with_vocab(self, vocab_size: int) -> ModelArch:
        return replace(self, vocab_size=vocab_size)

    @classmethod
    def from_params(cls, n_params: float, *, vocab_size: int = 151_936, name: str | None = None) -> ModelArch:
        """A plausible Llama/Qwen-like shape with about `n_params` parameters (marked `approximate`).

        Uses the rule of thumb that a decoder layer holds ~12·h² weights (4·h² attention, 8·h² SwiGLU
        MLP with intermediate ≈ 8/3·h) and that depth ≈ h / 128 (Llama-2-7B: 4096 wide, 32 deep),
        then solves for the width after setting the embedding (and an untied head) aside.
        """
        if n_params <= 0:
            raise ValueError(f"parameter count must be positive, got {n_params}")
        tie = n_params < 5e9  # small Qwen3 models tie the head to the embedding; 8B and up do not

        def shape(h: int) -> ModelArch:
            heads = h // 128
            kv = heads // 4 if heads % 4 == 0 else heads
            return cls(
                name=name or f"~{n_params / 1e9:g}B",
                hidden_size=h,
                num_layers=max(2, round(h / 128)),
                num_heads=heads,
                num_kv_heads=kv,
                head_dim=128,
                intermediate_size=max(8, 64 * round(8 * h / 3 / 64)),
                vocab_size=vocab_size,
                tie_word_embeddings=tie,
                qk_norm=True,
                approximate=True,
                source="guessed from the parameter count",
            )

        # total(h) grows monotonically with h: bisect on multiples of 128 (whole 128-wide heads).
        lo, hi = 1, 64  # in units of 128
        while shape(128 * hi).total_params < n_params and hi < 1 << 12:
            hi *= 2
        while lo < hi:
            mid = (lo + hi) // 2
            if shape(128 * mid).total_params < n_params:
                lo = mid + 1
            else:
                hi = mid
        below, above = shape(128 * max(1, lo - 1)), shape(128 * lo)
        return min((below, above), key=lambda a: abs(math.log(a.total_params) - math.log(n_params)))


# Published configs (config.json on the Hugging Face hub, Qwen org, 2025-04):
# https://huggingface.co/Qwen/Qwen3-0.6B/blob/main/config.json,
# https://huggingface.co/Qwen/Qwen3-4B/blob/main/config.json, https://huggingface.co/Qwen/Qwen3-8B/blob/main/config.json
QWEN3_0_6B = ModelArch(
    name="Qwen/Qwen3-0.6B",
    hidden_size=1024,
    num_layers=28,
    num_heads=16,
    num_kv_heads=8,
    head_dim=128,
    intermediate_size=3072,
    vocab_size=151_936,
    tie_word_embeddings=True,
)
QWEN3_4B = ModelArch(
    name="Qwen/Qwen3-4B",
    hidden_size=2560,
    num_layers=36,
    num_heads=32,
    num_kv_heads=8,
    head_dim=128,
    intermediate_size=9728,
    vocab_size=151_936,
    tie_word_embeddings=True,
)
QWEN3_8B = ModelArch(
    name="Qwen/Qwen3-8B",
    hidden_size=4096,
    num_layers=36,
    num_heads=32,
    num_kv_heads=8,
    head_dim=128,
    intermediate_size=12288,
    vocab_size=151_936,
    tie_word_embeddings=False,
)


def nano_arch(spec: NanoSpec | None = None, *, name: str = "dio-nano") -> ModelArch:
    """dio-nano's shape from its hero spec (defaults: the shipped hero, ~3.0M parameters)."""
    if spec is None:
        from realm_tui.config.hero import NanoSpec

        spec = NanoSpec()
    return ModelArch(
        name=name,
        hidden_size=spec.hidden_size,
        num_layers=spec.num_layers,
        num_heads=spec.num_heads,
        num_kv_heads=spec.num_kv_heads,
        head_dim=spec.head_dim,
        intermediate_size=spec.intermediate_size,
        vocab_size=NANO_VOCAB_SIZES[spec.vocab],
        tie_word_embeddings=True,  # the nano builder ties the head to the embedding
        source="nano spec",
    )


DIO_NANO = nano_arch()

PRESETS: dict[str, ModelArch] = {
    "qwen3-0.6b": QWEN3_0_6B,
    "qwen3-4b": QWEN3_4B,
    "qwen3-8b": QWEN3_8B,
    "dio-nano": DIO_NANO,
}
"""Architectures the calculator knows exactly, by short name."""


def preset(name: str) -> ModelArch:
    """A preset by short name (`qwen3-8b`) or hub id (`Qwen/Qwen3-8B`), case-insensitive."""
    key = name.strip().lower()
    for short, arch in PRESETS.items():
        if key in (short, arch.name.lower()):
            return arch
    raise KeyError(f"unknown architecture {name!r}; presets: {', '.join(PRESETS)}")
