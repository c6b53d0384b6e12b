"""Compare the Armory's VRAM calculator with published fine-tuning memory tables.

    .venv/bin/python bench/vram_reference.py            # both tables
    .venv/bin/python bench/vram_reference.py --markdown # the same as Markdown (for docs/armory.md)

References (numbers copied verbatim; "GB" in both is read as GiB, the unit nvidia-smi and
torch.cuda report memory in):

1. LLaMA-Factory README, "Hardware Requirement" (marked "*estimated*"), hiyouga/LLaMA-Factory
   at commit 00409ff28a30f48d13b808029d37861423673a4a:
   https://github.com/hiyouga/LLaMA-Factory/blob/main/README.md#hardware-requirement

   | Method                          | Bits |   7B  |  14B  |  30B  |   70B  |   `x`B  |
   | Full (`bf16` or `fp16`)         |  32  | 120GB | 240GB | 600GB | 1200GB | `18x`GB |
   | Full (`pure_bf16`)              |  16  |  60GB | 120GB | 300GB |  600GB |  `8x`GB |
   | Freeze/LoRA/GaLore/APOLLO/BAdam |  16  |  16GB |  32GB |  64GB |  160GB |  `2x`GB |
   | QLoRA                           |   8  |  10GB |  20GB |  40GB |   80GB |   `x`GB |
   | QLoRA                           |   4  |   6GB |  12GB |  24GB |   48GB | `x/2`GB |
   | QLoRA                           |   2  |   4GB |   8GB |  16GB |   24GB | `x/4`GB |

   The table gives no batch or length; LLaMA-Factory's own memory benchmark states bs=1,
   cutoff_len=1024, and its defaults are gradient checkpointing on, LoRA rank 8 on all linear
   layers, dropout 0, double quantization on, AdamW. The 2-bit row is skipped (AQLM/HQQ; the
   calculator models bitsandbytes 4- and 8-bit only). Models: real configs near each column
   (Llama-2-7B, Qwen2.5-14B, LLaMA-30B, Llama-2-70B).

2. Unsloth docs, "Unsloth Requirements" → "Fine-tuning VRAM requirements" ("these numbers are the
   absolute minimum"; QLoRA = 4-bit, LoRA = 16-bit):
   https://unsloth.ai/docs/get-started/fine-tuning-for-beginners/unsloth-requirements
   (numbers read from its translated mirror, same table:
   https://unsloth.ai/docs/zh/kai-shi/fine-tuning-for-beginners/unsloth-requirements)

   3B 3.5 / 8 GB · 7B 5 / 19 · 8B 6 / 22 · 14B 8.5 / 33 · 32B 26 / 76 · 70B 41 / 164 · 405B 237 / 950

   Unsloth's own kernels (chunked cross-entropy, activation offloading to CPU) go below what plain
   Hugging Face training needs, which is what the calculator models; expect it to read higher.
   Assumed: batch 1, 2048 tokens, LoRA r 16 on all linear layers, dropout 0, adamw_8bit (the
   defaults of Unsloth's notebooks). Models: Llama-3.2-3B, Mistral-7B, Llama-3.1-8B, Qwen2.5-14B,
   Qwen2.5-32B, Llama-3.1-70B, Llama-3.1-405B.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from realm_tui.armory.arch import ModelArch  # noqa: E402
from realm_tui.armory.vram import estimate_vram  # noqa: E402

LLAMA_FACTORY_URL = "https://github.com/hiyouga/LLaMA-Factory/blob/main/README.md#hardware-requirement"
UNSLOTH_URL = "https://unsloth.ai/docs/get-started/fine-tuning-for-beginners/unsloth-requirements"


def _llama(name: str, h: int, layers: int, heads: int, kv: int, inter: int, vocab: int, tie: bool = False) -> ModelArch:
    return ModelArch(
        name=name,
        hidden_size=h,
        num_layers=layers,
        num_heads=heads,
        num_kv_heads=kv,
        head_dim=h // heads,
        intermediate_size=inter,
        vocab_size=vocab,
        tie_word_embeddings=tie,
        qk_norm=False,
    )


# config.json of each model on the Hugging Face hub (Qwen2.5's qkv biases are left out: <0.01 %).
LLAMA2_7B = _llama("Llama-2-7B", 4096, 32, 32, 32, 11008, 32000)
QWEN25_14B = _llama("Qwen2.5-14B", 5120, 48, 40, 8, 13824, 152064)
LLAMA_30B = _llama("LLaMA-30B", 6656, 60, 52, 52, 17920, 32000)
LLAMA2_70B = _llama("Llama-2-70B", 8192, 80, 64, 8, 28672, 32000)
LLAMA32_3B = _llama("Llama-3.2-3B", 3072, 28, 24, 8, 8192, 128256, tie=True)
MISTRAL_7B = _llama("Mistral-7B", 4096, 32, 32, 8, 14336, 32000)
LLAMA31_8B = _llama("Llama-3.1-8B", 4096, 32, 32, 8, 14336, 128256)
QWEN25_32B = _llama("Qwen2.5-32B", 5120, 64, 40, 8, 27648, 152064)
LLAMA31_70B = _llama("Llama-3.1-70B", 8192, 80, 64, 8, 28672, 128256)
LLAMA31_405B = _llama("Llama-3.1-405B", 16384, 126, 128, 8, 53248, 128256)


@dataclass(frozen=True)
class Row:
    source: str
    label: str
    arch: ModelArch
    reference_gb: float
    setup: dict[str, Any]


_LF = dict(batch_size=1, seq_len=1024, gradient_checkpointing=True, attention="sdpa", lora_r=8, lora_dropout=0.0)
LF_METHODS: list[tuple[str, dict[str, Any], tuple[float, float, float, float]]] = [
    (
        "Full bf16/fp16 (AMP, 32-bit)",
        dict(method="full", precision="amp_bf16", optimizer="adamw"),
        (120, 240, 600, 1200),
    ),
    ("Full pure_bf16", dict(method="full", precision="bf16", optimizer="adamw"), (60, 120, 300, 600)),
    ("LoRA 16-bit", dict(method="lora", precision="bf16", optimizer="adamw"), (16, 32, 64, 160)),
    ("QLoRA 8-bit", dict(method="lora", quantization="8bit", precision="bf16", optimizer="adamw"), (10, 20, 40, 80)),
    ("QLoRA 4-bit", dict(method="qlora", quantization="4bit", precision="bf16", optimizer="adamw"), (6, 12, 24, 48)),
]
LF_MODELS = (LLAMA2_7B, QWEN25_14B, LLAMA_30B, LLAMA2_70B)

_US = dict(
    batch_size=1,
    seq_len=2048,
    gradient_checkpointing=True,
    attention="sdpa",
    lora_r=16,
    lora_dropout=0.0,
    optimizer="adamw_8bit",
    precision="bf16",
)
US_ROWS: list[tuple[ModelArch, float, float]] = [
    (LLAMA32_3B, 3.5, 8),
    (MISTRAL_7B, 5, 19),
    (LLAMA31_8B, 6, 22),
    (QWEN25_14B, 8.5, 33),
    (QWEN25_32B, 26, 76),
    (LLAMA31_70B, 41, 164),
    (LLAMA31_405B, 237, 950),
]


def rows() -> list[Row]:
    out: list[Row] = []
    for label, method, refs in LF_METHODS:
        for arch, ref in zip(LF_MODELS, refs, strict=True):
            out.append(Row("LLaMA-Factory", label, arch, ref, {**_LF, **method}))
    for arch, qlora, lora in US_ROWS:
        out.append(Row("Unsloth", "QLoRA 4-bit", arch, qlora, {**_US, "method": "qlora", "quantization": "4bit"}))
        out.append(Row("Unsloth", "LoRA 16-bit", arch, lora, {**_US, "method": "lora"}))
    return out


def compare() -> list[tuple[Row, float, float]]:
    """`(row, estimate GiB, signed error %)` for every reference row."""
    result = []
    for row in rows():
        est = estimate_vram(row.arch, **row.setup).total_gib
        result.append((row, est, 100 * (est - row.reference_gb) / row.reference_gb))
    return result


def mape(errors: list[float]) -> float:
    return sum(abs(e) for e in errors) / len(errors)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    args = parser.parse_args(argv)
    results = compare()
    for source, url in (("LLaMA-Factory", LLAMA_FACTORY_URL), ("Unsloth", UNSLOTH_URL)):
        part = [r for r in results if r[0].source == source]
        print(f"\n{source}: {url}")
        if args.markdown:
            print("\n| method | model | params | reference GB | calculator GiB | error |")
            print("|---|---|---:|---:|---:|---:|")
        else:
            print(f"{'method':<30} {'model':<15} {'params':>7} {'ref GB':>8} {'calc GiB':>9} {'error':>8}")
        for row, est, err in part:
            params = f"{row.arch.total_params / 1e9:.1f}B"
            if args.markdown:
                print(f"| {row.label} | {row.arch.name} | {params} | {row.reference_gb:g} | {est:.1f} | {err:+.0f} % |")
            else:
                print(
                    f"{row.label:<30} {row.arch.name:<15} {params:>7} {row.reference_gb:>8g} {est:>9.1f} {err:>+7.0f}%"
                )
        print(f"\n{source}: mean absolute percentage error {mape([e for _, _, e in part]):.1f} % over {len(part)} rows")
        by_method: dict[str, list[float]] = {}
        for row, _, err in part:
            by_method.setdefault(row.label, []).append(err)
        for label, errs in by_method.items():
            print(f"  {label:<30} MAPE {mape(errs):5.1f} %  (mean signed {sum(errs) / len(errs):+.1f} %)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
