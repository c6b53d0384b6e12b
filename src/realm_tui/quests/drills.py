"""Sequence drills: the generator behind the example module `quests/modules/seq-drills/`.

Three primitives, three levels, deterministic from fixed seeds:

- `seq_continue`: continue a sequence (arithmetic; then with negative steps and doubling; then
  Fibonacci-like and interleaved sequences);
- `seq_reverse`: reverse a list (letters; letters and digits; words);
- `seq_transform`: apply a rule to each item (add k; shift letters; double then subtract one).

The shipped module is rebuilt with::

    python -m realm_tui.quests.drills quests/modules/seq-drills

and a test checks that the shipped files equal a rebuild. Eval questions never appear in the
training files.
"""

from __future__ import annotations

import random
import string
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from realm_tui.quests.export import Example, write_module_folder

MODULE_ID = "seq-drills"
SKILL_ID = "sequences"
LEVELS = (1, 2, 3)
TRAIN_PER_LEVEL = 100
EVAL_PER_LEVEL = 30
TRAIN_SEED = 1_000
EVAL_SEED = 9_000_000
WORDS = ("sun", "moon", "star", "tree", "river", "stone", "wind", "fire", "leaf", "cloud", "sand", "wave")

Drill = Callable[[int, random.Random], tuple[str, str]]


def _nums(values: list[int]) -> str:
    return ", ".join(str(v) for v in values)


def continue_drill(level: int, rng: random.Random) -> tuple[str, str]:
    shown, more = (4, 2) if level == 1 else (5, 3)
    if level == 1:
        start, step = rng.randint(0, 20), rng.randint(1, 4)
        seq = [start + step * i for i in range(shown + more)]
    elif level == 2 and rng.random() < 0.7:
        start, step = rng.randint(-20, 40), rng.choice([s for s in range(-6, 10) if s])
        seq = [start + step * i for i in range(shown + more)]
    elif level == 2:
        start, factor = rng.randint(1, 5), rng.choice([2, 3])
        seq = [start * factor**i for i in range(shown + more)]
    elif rng.random() < 0.5:
        seq = [rng.randint(0, 5), rng.randint(1, 5)]
        while len(seq) < shown + more:
            seq.append(seq[-1] + seq[-2])
    else:
        a, b, sa, sb = rng.randint(0, 9), rng.randint(20, 40), rng.randint(1, 4), -rng.randint(1, 3)
        seq = [a + sa * (i // 2) if i % 2 == 0 else b + sb * (i // 2) for i in range(shown + more)]
    prompt = f"Continue the sequence with the next {more} terms: {_nums(seq[:shown])}"
    return prompt, _nums(seq[shown:])


def reverse_drill(level: int, rng: random.Random) -> tuple[str, str]:
    if level == 1:
        items = rng.sample(string.ascii_lowercase, rng.randint(3, 5))
    elif level == 2:
        items = [rng.choice(string.ascii_lowercase + string.digits) for _ in range(rng.randint(5, 8))]
    else:
        items = [rng.choice(WORDS) for _ in range(rng.randint(6, 10))]
    return f"Reverse the sequence: {' '.join(items)}", " ".join(reversed(items))


def transform_drill(level: int, rng: random.Random) -> tuple[str, str]:
    if level == 1:
        k, values = rng.randint(1, 3), [rng.randint(0, 20) for _ in range(rng.randint(3, 4))]
        return f"Add {k} to each number: {' '.join(map(str, values))}", " ".join(str(v + k) for v in values)
    if level == 2:
        k = rng.randint(1, 3)
        letters = [rng.choice(string.ascii_lowercase) for _ in range(rng.randint(4, 6))]
        shifted = [chr((ord(c) - 97 + k) % 26 + 97) for c in letters]
        prompt = f"Shift each letter {k} forward in the alphabet (z wraps to a): {' '.join(letters)}"
        return prompt, " ".join(shifted)
    values = [rng.randint(0, 30) for _ in range(rng.randint(4, 6))]
    prompt = f"Double each number, then subtract 1: {' '.join(map(str, values))}"
    return prompt, " ".join(str(2 * v - 1) for v in values)


DRILLS: tuple[tuple[str, Drill], ...] = (
    ("seq_continue", continue_drill),
    ("seq_reverse", reverse_drill),
    ("seq_transform", transform_drill),
)


def _example(prompt: str, answer: str) -> Example:
    return {"messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]}


def drills(level: int, n: int, seed: int, exclude: frozenset[str] = frozenset()) -> list[Example]:
    """`n` distinct drills at `level`, the three kinds in turn, none with a prompt in `exclude`."""
    rng = random.Random(seed * 31 + level)
    out: list[Example] = []
    seen = set(exclude)
    for attempt in range(n * 50):
        if len(out) >= n:
            break
        _primitive, drill = DRILLS[attempt % len(DRILLS)]
        prompt, answer = drill(level, rng)
        if prompt not in seen:
            seen.add(prompt)
            out.append(_example(prompt, answer))
    return out


def build(folder: Path) -> dict[str, Any]:
    """Write the seq-drills module into `folder`; returns its manifest data."""
    files: dict[str, list[Example]] = {}
    data, sets = [], []
    for level in LEVELS:
        held = drills(level, EVAL_PER_LEVEL, EVAL_SEED)
        train = drills(level, TRAIN_PER_LEVEL, TRAIN_SEED, frozenset(e["messages"][0]["content"] for e in held))
        files[f"data/level{level}.jsonl"], files[f"eval/level{level}.jsonl"] = train, held
        data.append({"path": f"data/level{level}.jsonl", "skill_level": level, "examples": len(train)})
        data[-1]["difficulty"] = round(0.2 + 0.3 * (level - 1), 2)
        sets.append({"path": f"eval/level{level}.jsonl", "skill_level": level, "examples": len(held)})
    manifest: dict[str, Any] = {
        "id": MODULE_ID,
        "name": "Sequence Primitive Drills",
        "version": "1.0.0",
        "author": "Realm of Training",
        "license": "CC0-1.0",
        "description": "Short drills of three sequence primitives: continue, reverse and transform.",
        "primitives": {"required": [p for p, _ in DRILLS], "optional": ["attn_count"]},
        "requirements": {"min_level": 0, "prerequisites": []},
        "skills": [{"id": SKILL_ID, "name": "Sequences", "levels": list(LEVELS), "max_level": len(LEVELS)}],
        "data": data,
        "evaluation": {"type": "accuracy", "match": "strip", "threshold": 0.8, "evals_required": 3, "sets": sets},
        "curriculum": {"progression": "accuracy_gated", "min_accuracy_to_advance": 0.8, "cooldown_on_fail": 100},
        "drill_mode": True,
    }
    readme = (
        "# Sequence Primitive Drills\n\n"
        "Pure primitive drills (no skill context) for `seq_continue`, `seq_reverse` and `seq_transform`,\n"
        f"{TRAIN_PER_LEVEL} training and {EVAL_PER_LEVEL} held-out eval examples per level.\n\n"
        "Generated by `realm_tui.quests.drills`; see docs/modules.md for the manifest format.\n"
    )
    write_module_folder(folder, manifest, files, readme)
    return manifest


if __name__ == "__main__":  # pragma: no cover - the rebuild command named in the docstring
    build(Path(sys.argv[1] if len(sys.argv) > 1 else f"quests/modules/{MODULE_ID}"))
