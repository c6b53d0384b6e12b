"""Helpers shared by the trainer tests (a uniquely named module, importable from test files)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

TINY_NANO = {
    "hidden_size": 64,
    "num_layers": 2,
    "num_heads": 2,
    "num_kv_heads": 1,
    "head_dim": 32,
    "intermediate_size": 128,
    "max_position_embeddings": 512,
    "seed": 7,
}


def circled(n: int, width: int) -> str:
    return format(n, f"0{width}b").replace("0", "⓪").replace("1", "①")


def addition_examples(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """Binary addition in circled digits: varied lengths, learnable in a few dozen steps."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        width = rng.randint(2, 5)
        a, b = rng.randrange(2**width), rng.randrange(2**width)
        messages = [
            {"role": "user", "content": f"{circled(a, width)} + {circled(b, width)} ="},
            {"role": "assistant", "content": circled(a + b, width + 1)},
        ]
        if rng.random() < 0.3:
            messages.insert(0, {"role": "system", "content": "Add. 🐉"})
        out.append({"messages": messages})
    return out


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


class Events(list):
    """Collects emitted events; `of(Step)` filters by type."""

    def __call__(self, event: Any) -> None:
        self.append(event)

    def of(self, kind: type) -> list[Any]:
        return [e for e in self if isinstance(e, kind)]


def shaken_tiny_hero(seed: int) -> tuple[Any, Any]:
    """A tiny hero (2 query heads on 1 key/value head, room for an SY prompt and answer) with its
    weights shaken by `seed`, so its answers differ from row to row; in eval mode, with its tokenizer."""
    import torch

    from realm_tui.trainer import nano

    tokenizer = nano.build_tokenizer()
    spec = dict(TINY_NANO, max_position_embeddings=1024)
    model = nano.build_model(nano.NanoSpec.from_dict(spec), tokenizer)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * 0.5)
    return model.eval(), tokenizer
