"""dio-nano: a tiny Qwen3 hero built from our own code, deterministically from a seed.

The tokenizer is character-level over every character the skills produce (ASCII, circled
numbers, common emoji and symbols) with byte fallback, so no character is ever lost to <unk>.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from tokenizers import Tokenizer, decoders, models
from transformers import PreTrainedTokenizerFast, Qwen3Config, Qwen3ForCausalLM

PAD = "<|endoftext|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
SPECIAL_TOKENS = (PAD, IM_START, IM_END)
SPEC_FILE = "nano_spec.json"
VOCABS = ("bytes+chars", "bytes")

# Qwen-style; the {% generation %} tags let `return_assistant_tokens_mask` find assistant tokens.
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{%- if message['role'] == 'assistant' %}"
    "{{ '<|im_start|>assistant\\n' }}{% generation %}{{ message['content'] + '<|im_end|>' }}"
    "{% endgeneration %}{{ '\\n' }}"
    "{%- else %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{%- endif %}"
)


@dataclass(frozen=True)
class NanoSpec:
    """Shape and seed of dio-nano; the defaults are the shipped hero."""

    hidden_size: int = 256
    num_layers: int = 4
    num_heads: int = 4
    num_kv_heads: int = 2
    head_dim: int = 64
    intermediate_size: int = 512
    max_position_embeddings: int = 1024
    vocab: str = "bytes+chars"
    """`bytes+chars`: a token per skill character plus byte fallback; `bytes`: bytes only."""
    seed: int = 1234

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> NanoSpec:
        """From the hero's `model.nano` (unknown keys ignored, missing ones defaulted)."""
        raw = dict(raw or {})
        known: dict[str, Any] = {}
        for key, default in asdict(cls()).items():
            if raw.get(key) is not None:
                known[key] = type(default)(raw[key])
        if known.get("vocab", "bytes+chars") not in VOCABS:
            raise ValueError(f"nano vocab must be one of {VOCABS}, not {known['vocab']!r}")
        return cls(**known)


def _ranges(*spans: tuple[int, int]) -> list[str]:
    return [chr(c) for lo, hi in spans for c in range(lo, hi + 1)]


def vocab_characters() -> list[str]:
    """Every character with its own token, in a fixed order (the order is the token id order)."""
    chars: list[str] = ["\n", "\t"]
    chars += _ranges((0x20, 0x7E))  # printable ASCII
    chars += _ranges(
        (0x24EA, 0x24EA),  # ⓪
        (0x2460, 0x2473),  # ①-⑳
        (0x3251, 0x325F),  # ㉑-㉟
        (0x32B1, 0x32BF),  # ㊱-㊿
        (0x24EB, 0x24FF),  # ⓫-⓴, ⓵-⓾, ⓿
        (0x2776, 0x2793),  # ❶-❿, ➀-➉, ➊-➓
        (0x1F300, 0x1F5FF),  # misc symbols and pictographs (🐉, 🔥, ...)
        (0x1F600, 0x1F64F),  # emoticons
        (0x1F680, 0x1F6FF),  # transport and map
        (0x1F900, 0x1F9FF),  # supplemental symbols and pictographs
        (0x2600, 0x26FF),  # misc symbols (☀, ★, ♠, ⚡)
        (0x2700, 0x2775),  # dingbats (✓, ✗, ✨)
        (0x2190, 0x21FF),  # arrows
        (0x2200, 0x22FF),  # math operators
        (0x2010, 0x2027),  # dashes, quotes, bullets, ellipsis
        (0x00A0, 0x00FF),  # Latin-1 (é, ×, ÷, °, ±)
    )
    chars += ["\u200d", "\ufe0f", "€", "™"]  # ZWJ and variation selector keep emoji sequences cheap
    seen: set[str] = set()
    return [c for c in chars if not (c in seen or seen.add(c))]  # type: ignore[func-returns-value]


def build_tokenizer(vocab_kind: str = "bytes+chars") -> PreTrainedTokenizerFast:
    """Specials, the 256 byte tokens, then (`bytes+chars`) one token per skill character;
    deterministic (no training). Any character without its own token falls back to bytes."""
    vocab: dict[str, int] = {}
    for special in SPECIAL_TOKENS:
        vocab[special] = len(vocab)
    for i in range(256):
        vocab[f"<0x{i:02X}>"] = len(vocab)
    if vocab_kind == "bytes+chars":
        for ch in vocab_characters():
            vocab.setdefault(ch, len(vocab))
    raw = Tokenizer(models.BPE(vocab=vocab, merges=[], byte_fallback=True))
    raw.decoder = decoders.Sequence([decoders.ByteFallback(), decoders.Fuse()])
    raw.add_special_tokens(list(SPECIAL_TOKENS))
    # transformers' stubs type this constructor oddly; the object is a fast tokenizer.
    tok: Any = PreTrainedTokenizerFast(
        tokenizer_object=raw,
        pad_token=PAD,
        eos_token=IM_END,
        additional_special_tokens=[IM_START],
        clean_up_tokenization_spaces=False,
    )
    tok.chat_template = CHAT_TEMPLATE
    tok.model_max_length = 1 << 30
    return tok


def build_model(spec: NanoSpec, tokenizer: PreTrainedTokenizerFast) -> Qwen3ForCausalLM:
    config = Qwen3Config(
        vocab_size=len(tokenizer),
        hidden_size=spec.hidden_size,
        intermediate_size=spec.intermediate_size,
        num_hidden_layers=spec.num_layers,
        num_attention_heads=spec.num_heads,
        num_key_value_heads=spec.num_kv_heads,
        head_dim=spec.head_dim,
        max_position_embeddings=spec.max_position_embeddings,
        tie_word_embeddings=True,
        use_cache=False,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    )
    # Seeding a private generator state keeps the caller's RNG untouched.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(spec.seed)
        model = Qwen3ForCausalLM(config)
    return model  # float32: the default dtype, and what training keeps as master weights


def build_nano_hero(spec: NanoSpec | dict[str, Any] | None, out_dir: Path) -> Path:
    """Build dio-nano into `out_dir` (created): safetensors weights, tokenizer, spec."""
    nano = spec if isinstance(spec, NanoSpec) else NanoSpec.from_dict(spec)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(nano.vocab)
    model = build_model(nano, tokenizer)
    model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    (out_dir / SPEC_FILE).write_text(json.dumps(asdict(nano), indent=2, sort_keys=True) + "\n")
    return out_dir


def read_spec(folder: Path) -> NanoSpec | None:
    path = Path(folder) / SPEC_FILE
    if not path.is_file():
        return None
    return NanoSpec.from_dict(json.loads(path.read_text()))
