"""BIN: every level's answers agree with an independent computation read back from the prompt.

The checker below re-implements the documented notation on purpose (it imports nothing from
`bin_ops`): it parses the prompt text and the key, computes with Python ints, formats with the
documented width rules and compares with the problem's expected answer.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

import pytest

from realm_tui.skills import get_skill
from realm_tui.skills.bin import extract_result

ZERO, ONE = "\u24ea", "\u2460"
BIN = get_skill("bin")
SAMPLES = 60

# canonical op name -> (arity, compute, result width from (running width, operand width))
Fn = Callable[[int, int], int]
SEMANTICS: dict[str, tuple[int, Fn, Fn]] = {
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
    "tobin": (1, lambda a, b: a, lambda c, w: w),
    "todec": (1, lambda a, b: a, lambda c, w: 0),
}


class Reader:
    """Reads numbers and operation names of one prompt, honouring its key."""

    def __init__(self, key: dict[str, str]) -> None:
        inverse = {canon: glyph for glyph, canon in key.items()}
        self.zero, self.one = inverse.get(ZERO, ZERO), inverse.get(ONE, ONE)
        self.ops = {glyph: canon for glyph, canon in key.items() if canon not in (ZERO, ONE)}

    def op(self, token: str) -> str:
        return self.ops.get(token, token)

    def number(self, token: str) -> tuple[int, int]:
        """(value, width in bits)."""
        sign = -1 if token.startswith("-") else 1
        rest, bits = token.lstrip("-"), ""
        while rest:
            if rest.startswith(self.zero):
                bits, rest = bits + "0", rest[len(self.zero) :]
            elif rest.startswith(self.one):
                bits, rest = bits + "1", rest[len(self.one) :]
            else:
                raise AssertionError(f"unreadable number {token!r}")
        return sign * int(bits, 2), len(bits)

    def write(self, value: int, width: int) -> str:
        if width == 0:
            return str(value)
        assert abs(value) < 2**width, (value, width)
        bits = format(abs(value), f"0{width}b")
        return ("-" if value < 0 else "") + "".join(self.one if c == "1" else self.zero for c in bits)


def solve(prompt: str, level: int) -> tuple[str, list[str], list[int], int, str]:
    """(tier, every value line the answer must show, decimal values, final value, final text)."""
    head, _, rest = prompt.partition(": ")
    tier = re.fullmatch(r"Binary(?: \[(verify|show-work|trace)\])?", head)
    assert tier, head
    key: dict[str, str] = {}
    if "\n" in rest:
        key_line, expr = rest.split("\n")
        assert key_line.startswith("key ")
        for pair in key_line[4:].split(" "):
            glyph, canon = pair.split(":", 1)
            key[glyph] = canon
    else:
        expr = rest
    assert expr.endswith(" =")
    reader = Reader(key)
    width = level + 1
    steps = expr[:-2].split(" ; ")
    values: list[int] = []
    lines: list[str] = []
    tokens = steps[0].split(" ")
    if len(tokens) == 5 and tokens[2] == "in" and tokens[4] == "bits":  # tobin N in W bits
        assert int(tokens[3]) == width, "tobin states the level's width"
        tokens = tokens[:2]
    if len(tokens) == 2:
        op = reader.op(tokens[0])
        if op == "tobin":
            a, aw = int(tokens[1]), width
        else:
            a, aw = reader.number(tokens[1])
        b = 0
    else:
        op = reader.op(tokens[1])
        (a, aw), (b, bw) = reader.number(tokens[0]), reader.number(tokens[2])
        assert bw == width
    assert aw == width, "operands are written at the level's width"
    arity, compute, result_width = SEMANTICS[op]
    assert arity == (1 if len(tokens) == 2 else 2)
    value, cw = compute(a, b), result_width(width, width)
    values.append(value)
    lines.append(reader.write(value, cw))
    for step in steps[1:]:
        tokens = step.split(" ")
        op = reader.op(tokens[0])
        arity, compute, result_width = SEMANTICS[op]
        x = reader.number(tokens[1])[0] if arity == 2 else 0
        value, cw = compute(value, x), result_width(cw, width)
        values.append(value)
        lines.append(reader.write(value, cw))
    return (tier[1] or "plain"), lines, values, value, lines[-1]


@pytest.mark.parametrize("level", range(1, 31))
def test_every_level_matches_an_independent_computation(level: int) -> None:
    problems = BIN.generate(level, SAMPLES, seed=1000 + level)
    for p in problems:
        tier, lines, values, final, final_text = solve(p.prompt, level)
        assert p.tier == tier
        answer = p.expected.split("\n")
        assert extract_result(p.expected) == final_text, (p.prompt, p.expected)
        if tier == "plain":
            assert answer == [final_text]
        elif tier == "trace":
            assert answer == lines[:-1] + [f"= {final_text}"]
            assert 2 <= len(lines) <= 5
        else:  # verify / show-work: a decimal check line that agrees with the value
            check = answer[-2]
            assert answer[-1] == f"= {final_text}"
            rhs = check.rsplit("=", 1)[1]
            total = sum(int(t) for t in rhs.split("+")) if "+" in rhs else int(rhs.strip("()"))
            assert total == final, check
        assert set(p.primitives) <= set(BIN.primitives)


@pytest.mark.parametrize("level", range(1, 31))
def test_scorer_accepts_gold_and_rejects_a_wrong_result(level: int) -> None:
    for p in BIN.generate(level, 12, seed=7 * level):
        assert BIN.score(p, p.expected)
        assert BIN.score(p, f"\n  {p.expected}  \n\n")
        final = extract_result(p.expected)
        assert BIN.score(p, final)  # the result alone is enough, whatever the tier
        wrong = final[:-1] + ("9" if final[-1] != "9" else "8") if final[-1].isdigit() else final + final[-1]
        assert not BIN.score(p, wrong)
        assert not BIN.score(p, p.expected + "\n= " + wrong)
        assert not BIN.score(p, "")


def test_level_one_is_short_and_plain_binary_addition() -> None:
    problems = BIN.generate(1, 200, seed=3)
    assert {p.meta["op"] for p in problems} == {"add"}
    for p in problems:
        assert 15 <= len(p.prompt) <= 40, p.prompt
        assert len(p.expected) <= 40
    plain = [p for p in problems if p.tier == "plain"]
    assert plain and plain[0].prompt.startswith("Binary: ") and plain[0].prompt.endswith(" =")


def test_keys_appear_from_level_eight_and_remap_the_symbols() -> None:
    assert all(p.meta["key"] is None for lv in range(1, 8) for p in BIN.generate(lv, 50, seed=lv))
    eight = BIN.generate(8, 300, seed=8)
    keyed = [p for p in eight if p.meta["key"]]
    assert len(keyed) > len(eight) / 2, "from level 8 most problems carry a key"
    for p in keyed:
        key = p.meta["key"]
        assert ZERO not in p.prompt.split("\n", 1)[1] and ONE not in p.prompt.split("\n", 1)[1]
        if p.meta["op"] != "todec":
            assert key["zero"] in extract_result(p.expected) or key["one"] in extract_result(p.expected)
    words = [p for p in BIN.generate(20, 300, seed=20) if p.meta["key"] and len(p.meta["key"]["zero"]) == 2]
    assert words, "word keys appear at level 20"


def test_operations_and_tiers_grow_with_level() -> None:
    cfg = BIN.config
    for low, high in zip(cfg.levels, cfg.levels[1:], strict=False):
        assert set(low.ops) <= set(high.ops)
        assert low.key_share <= high.key_share
    seen = Counter(p.tier for p in BIN.generate(30, 400, seed=30))
    assert set(seen) == {"plain", "verify", "show-work", "trace"}
    assert {p.meta["width"] for p in BIN.generate(30, 20, seed=2)} == {31}


def test_signed_numbers_use_a_leading_minus_and_zero_is_never_negative() -> None:
    signed = ("neg", "abs", "sadd", "ssub", "smul")
    problems = [p for p in BIN.generate(12, 600, seed=12) if p.meta["op"] in signed]
    assert any(" -" in p.prompt or "\n-" in p.prompt for p in problems)
    assert any(extract_result(p.expected).startswith("-") for p in problems)
    for p in problems:
        if p.meta["result"] == 0:
            assert not extract_result(p.expected).startswith("-")
        assert extract_result(p.expected).startswith("-") == (p.meta["result"] < 0)
