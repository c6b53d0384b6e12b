"""Solvers of our own for BIN and SY, written from the prompt text and the documented rules alone.

They import nothing from the generators (`skills.bin`, `skills.bin_ops`, `skills.sy`,
`skills.words`): BIN is computed with Python ints from the prompt's numbers and the documented
width rules, without being told the level; SY reads the shipped word files itself and searches
every answer a prompt admits. A generator bug cannot hide behind shared code.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

# ---------------------------------------------------------------- BIN

ZERO, ONE = "\u24ea", "\u2460"
Fn = Callable[[int, int], int]
# canonical op name -> (arity, compute, result width from (running width, operand width))
BIN_SEMANTICS: dict[str, tuple[int, Fn, Fn]] = {
    "+": (2, lambda a, b: a + b, lambda c, w: max(c, w) + 1),
    "-": (2, lambda a, b: a - b, lambda c, w: max(c, w) + 1),
    "×": (2, lambda a, b: a * b, lambda c, w: c + w),
    "==": (2, lambda a, b: int(a == b), lambda c, w: 1),
    "<": (2, lambda a, b: int(a < b), lambda c, w: 1),
    ">": (2, lambda a, b: int(a > b), lambda c, w: 1),
    "min": (2, min, lambda c, w: max(c, w)),
    "max": (2, max, lambda c, w: max(c, w)),
    "inc": (1, lambda a, b: a + 1, lambda c, w: c + 1),
    "dec": (1, lambda a, b: a - 1, lambda c, w: c),
    "neg": (1, lambda a, b: -a, lambda c, w: c),
    "abs": (1, lambda a, b: abs(a), lambda c, w: c),
    "dbl": (1, lambda a, b: 2 * a, lambda c, w: c + 1),
    "hlf": (1, lambda a, b: a // 2, lambda c, w: c),
    "todec": (1, lambda a, b: a, lambda c, w: 0),
}


@dataclass(frozen=True)
class BinSolution:
    tier: str
    lines: list[str]
    """Every value the answer shows (a trace's intermediate values, then the result)."""
    final: int
    final_text: str
    operand_bits: int


def bin_final(answer: str) -> str:
    """The result of an answer: after the last "=" of its last non-empty line."""
    lines = [x.strip() for x in answer.strip().splitlines() if x.strip()]
    return lines[-1].rsplit("=", 1)[-1].strip() if lines else ""


class _Symbols:
    def __init__(self, key: dict[str, str]) -> None:
        inverse = {canon: glyph for glyph, canon in key.items()}
        self.zero, self.one = inverse.get(ZERO, ZERO), inverse.get(ONE, ONE)
        self.ops = {glyph: canon for glyph, canon in key.items() if canon not in (ZERO, ONE)}

    def read(self, token: str) -> tuple[int, int]:
        """(value, width in bits) of a written number."""
        sign = -1 if token.startswith("-") else 1
        rest, bits = token[1:] if sign < 0 else token, ""
        while rest:
            if rest.startswith(self.zero):
                bits, rest = bits + "0", rest[len(self.zero) :]
            elif rest.startswith(self.one):
                bits, rest = bits + "1", rest[len(self.one) :]
            else:
                raise AssertionError(f"unreadable number {token!r}")
        assert bits, token
        return sign * int(bits, 2), len(bits)

    def write(self, value: int, width: int) -> str:
        if width == 0:
            return str(value)
        assert abs(value) < 2**width, (value, width)
        bits = format(abs(value), f"0{width}b")
        return ("-" if value < 0 else "") + "".join(self.one if c == "1" else self.zero for c in bits)


def solve_bin(prompt: str) -> BinSolution:
    """The answer a BIN prompt asks for, from the prompt alone (no level)."""
    head, _, rest = prompt.partition(": ")
    tag = re.fullmatch(r"Binary(?: \[(verify|show-work|trace)\])?", head)
    assert tag, head
    key: dict[str, str] = {}
    if "\n" in rest:
        key_line, expr = rest.split("\n")
        assert key_line.startswith("key "), key_line
        for pair in key_line[4:].split(" "):
            glyph, canon = pair.split(":", 1)
            assert glyph not in key, f"a key maps {glyph!r} twice"
            key[glyph] = canon
    else:
        expr = rest
    assert expr.endswith(" ="), expr
    sym = _Symbols(key)
    steps = expr[:-2].split(" ; ")
    tokens = steps[0].split(" ")
    tobin = re.fullmatch(r"(\S+) (\d+) in (\d+) bits", steps[0])
    if tobin and sym.ops.get(tobin[1], tobin[1]) == "tobin":
        value, width = int(tobin[2]), int(tobin[3])
        assert width >= 1 and value < 2**width
        line = sym.write(value, width)
        return BinSolution(tag[1] or "plain", [line], value, line, width)
    if len(tokens) == 2:
        op = sym.ops.get(tokens[0], tokens[0])
        assert op != "tobin", f"tobin without a stated width: {prompt!r}"
        (a, w), b = sym.read(tokens[1]), 0
    else:
        assert len(tokens) == 3, steps[0]
        op = sym.ops.get(tokens[1], tokens[1])
        (a, w), (b, wb) = sym.read(tokens[0]), sym.read(tokens[2])
        assert wb == w, "both operands share one width"
    arity, compute, result_width = BIN_SEMANTICS[op]
    assert arity == (1 if len(tokens) == 2 else 2), (op, tokens)
    value, cw = compute(a, b), result_width(w, w)
    lines = [sym.write(value, cw)]
    for step in steps[1:]:
        parts = step.split(" ")
        op = sym.ops.get(parts[0], parts[0])
        arity, compute, result_width = BIN_SEMANTICS[op]
        assert len(parts) == arity, step
        x = 0
        if arity == 2:
            x, wx = sym.read(parts[1])
            assert wx == w
        value, cw = compute(value, x), result_width(cw, w)
        lines.append(sym.write(value, cw))
    return BinSolution(tag[1] or "plain", lines, value, lines[-1], w)


# ---------------------------------------------------------------- SY

TIER4 = re.compile(r"starts with ([A-Z]); length (\d+)")
CLUE_LINE = re.compile(r"(\d+)\. (.+): (_(?: _)*)")


def _data(name: str) -> str:
    return resources.files("realm_tui.skills").joinpath("data", name).read_text(encoding="utf-8")


@cache
def _table() -> tuple[dict[str, list[str]], dict[tuple[str, int], set[str]]]:
    """(clue text → words written for it, (first letter, length) → every known word)."""
    by_clue: dict[str, list[str]] = {}
    by_shape: dict[tuple[str, int], set[str]] = {}
    for row in _data("sy_words.tsv").splitlines()[1:]:
        if not row.strip():
            continue
        cells = row.split("\t")
        word = cells[0]
        for text in cells[3:6]:
            if text:
                by_clue.setdefault(text, []).append(word)
        by_shape.setdefault((word[0], len(word)), set()).add(word)
    for row in _data("sy_lexicon.txt").splitlines():
        word = row.strip()
        if word:
            by_shape.setdefault((word[0], len(word)), set()).add(word)
    return by_clue, by_shape


def _splits(word: str, parts: int, tiles: set[str]) -> list[tuple[str, ...]]:
    """Every way to write `word` as exactly `parts` tiles (each a text present in `tiles`)."""
    out: list[tuple[str, ...]] = []

    def go(pos: int, chosen: tuple[str, ...]) -> None:
        if pos == len(word):
            if len(chosen) == parts:
                out.append(chosen)
            return
        if len(chosen) == parts:
            return
        for end in range(pos + 1, len(word) + 1):
            if word[pos:end] in tiles:
                go(end, (*chosen, word[pos:end]))

    go(0, ())
    return out


@dataclass(frozen=True)
class SyPuzzle:
    tiles: list[str]
    clues: list[tuple[str, int]]
    """(clue text, blanks) per line, in order."""


def parse_sy(prompt: str) -> SyPuzzle:
    lines = prompt.split("\n")
    tiles_line = next(x for x in lines if x.startswith("Tiles: "))
    tiles = tiles_line[len("Tiles: ") :].split(" ")
    clues = []
    for line in lines[lines.index(tiles_line) + 1 :]:
        found = CLUE_LINE.fullmatch(line)
        assert found, line
        assert int(found[1]) == len(clues) + 1
        clues.append((found[2], found[3].count("_")))
    return SyPuzzle(tiles, clues)


def sy_answers(prompt: str, limit: int = 2) -> list[dict[str, Any]]:
    """The answers (canonical dicts) a SY prompt admits, up to `limit`: for each clue line a word
    the clue can mean (every word written for that text; for a tier-4 clue every known word of
    that shape) in exactly as many tiles as blanks, the bank's tiles used at most as often as
    they appear. Words may repeat; the leftover tiles are the unused ones."""
    puzzle = parse_sy(prompt)
    by_clue, by_shape = _table()
    bank = Counter(puzzle.tiles)
    tile_set = set(bank)
    options: list[list[tuple[str, tuple[str, ...]]]] = []
    for text, blanks in puzzle.clues:
        shape = TIER4.fullmatch(text)
        names = sorted(by_shape.get((shape[1], int(shape[2])), set())) if shape else by_clue.get(text, [])
        slot = [
            (name, split) for name in names for split in _splits(name, blanks, tile_set) if not Counter(split) - bank
        ]
        options.append(slot)
    order = sorted(range(len(options)), key=lambda i: len(options[i]))
    found: list[dict[str, Any]] = []
    chosen: dict[int, tuple[str, tuple[str, ...]]] = {}

    def go(k: int, left: Counter[str]) -> None:
        if len(found) >= limit:
            return
        if k == len(order):
            words = [{"syllables": list(chosen[i][1]), "word": chosen[i][0]} for i in range(len(options))]
            found.append({"words": words, "unused": sorted(left.elements())})
            return
        i = order[k]
        for name, split in options[i]:
            need = Counter(split)
            if need - left:
                continue
            chosen[i] = (name, split)
            go(k + 1, left - need)
            del chosen[i]

    go(0, bank)
    return found


def sy_gold(expected: str) -> dict[str, Any]:
    data = json.loads(expected)
    assert isinstance(data, dict)
    return data
