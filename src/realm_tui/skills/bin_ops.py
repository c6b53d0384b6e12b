"""BIN arithmetic: the operations, their result widths, circled-number formatting and the symbol
pools of keys. Pure functions; `bin.py` builds prompts and answers from them.

Numbers are written most significant bit first with ⓪ (U+24EA) = 0 and ① (U+2460) = 1,
zero-padded to a width. Signed values are sign-magnitude: "-" then the magnitude bits; zero is
never negative. Result widths (w = operand width, cw = width of the running value in a trace):

    add, sub, sadd, ssub     max(cw, w) + 1  (a signed difference can need the extra bit, and
                             `sub` prints exactly like `ssub`, so both use the same width)
    inc, dbl                 cw + 1
    min, max                 max(cw, w)
    dec, hlf, neg, abs       cw
    mul, smul                cw + w
    eq, lt, gt               1 bit: ① true, ⓪ false
    tobin                    w;   todec: plain decimal digits
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

ZERO = "\u24ea"  # ⓪
ONE = "\u2460"  # ①


@dataclass(frozen=True)
class Op:
    """One BIN operation."""

    id: str
    symbol: str
    """Canonical name in prompts (a key may remap it)."""
    arity: int
    """1: written `sym A`; 2: written `A sym B`."""
    signed: bool
    compute: Callable[[int, int], int]
    width: Callable[[int, int], int]
    """Result width from (running width, operand width)."""
    primitives: tuple[str, ...]


def _widest(c: int, w: int) -> int:
    return max(c, w)


OPS: dict[str, Op] = {
    o.id: o
    for o in (
        Op("add", "+", 2, False, lambda a, b: a + b, lambda c, w: max(c, w) + 1, ("logic_chain", "xfm_encode")),
        Op("sub", "-", 2, False, lambda a, b: a - b, lambda c, w: max(c, w) + 1, ("logic_chain", "xfm_encode")),
        Op("mul", "×", 2, False, lambda a, b: a * b, lambda c, w: c + w, ("logic_chain", "xfm_reduce")),
        Op("inc", "inc", 1, False, lambda a, _: a + 1, lambda c, _: c + 1, ("logic_chain", "xfm_encode")),
        Op("dec", "dec", 1, False, lambda a, _: a - 1, lambda c, _: c, ("logic_chain", "xfm_encode")),
        Op("sadd", "+", 2, True, lambda a, b: a + b, lambda c, w: max(c, w) + 1, ("logic_chain", "attn_compare")),
        Op("ssub", "-", 2, True, lambda a, b: a - b, lambda c, w: max(c, w) + 1, ("logic_chain", "attn_compare")),
        Op("smul", "×", 2, True, lambda a, b: a * b, lambda c, w: c + w, ("xfm_reduce", "xfm_substitute")),
        Op("neg", "neg", 1, True, lambda a, _: -a, lambda c, _: c, ("xfm_substitute",)),
        Op("abs", "abs", 1, True, lambda a, _: abs(a), lambda c, _: c, ("xfm_substitute", "attn_compare")),
        Op("eq", "==", 2, False, lambda a, b: int(a == b), lambda c, w: 1, ("attn_compare",)),
        Op("lt", "<", 2, False, lambda a, b: int(a < b), lambda c, w: 1, ("attn_compare",)),
        Op("gt", ">", 2, False, lambda a, b: int(a > b), lambda c, w: 1, ("attn_compare",)),
        Op("min", "min", 2, False, lambda a, b: min(a, b), _widest, ("attn_compare", "attn_select")),
        Op("max", "max", 2, False, lambda a, b: max(a, b), _widest, ("attn_compare", "attn_select")),
        Op("dbl", "dbl", 1, False, lambda a, _: a * 2, lambda c, _: c + 1, ("seq_transform", "attn_count")),
        Op("hlf", "hlf", 1, False, lambda a, _: a // 2, lambda c, _: c, ("seq_transform", "attn_count")),
        Op("tobin", "tobin", 1, False, lambda a, _: a, lambda c, w: w, ("xfm_encode", "attn_count")),
        Op("todec", "todec", 1, False, lambda a, _: a, lambda c, w: 0, ("xfm_decode", "xfm_reduce")),
    )
}
"""Every operation by id. `sadd/ssub/smul` print like `add/sub/mul` but take signed operands."""

TRACE_OPS = ("add", "sub", "mul", "inc", "dec", "dbl", "hlf", "sadd", "ssub", "smul", "neg", "abs")
"""Operations that can be a step of a `[trace]` chain (they return a number of the same kind)."""

KEY_EMOJI = tuple(
    "🍎🍌🍇🍉🍒🍓🍋🍑🍍🥝🥥🥕🌽🍄🌰🥜🍞🧀🍕🍩🍪🎂🍫🍬🐱🐶🐭🐹🐰🦊🐻🐼🐨🐯🦁🐮🐷🐸🐵🐔🐧"
    "🐦🦆🦉🐺🐴🦄🐝🐛🦋🐌🐞🐢🐍🦎🐙🦑🦀🐠🐟🐬🐳🦈🌵🌲🌴🌱🌿🍀🍁🌸🌻🌙🌞🌈🔥💧🌊🎈🎁🎲🎯🎸🎺🔔🔑💎🚀🚗🚲🧲🧩"
)
"""Single-code-point emoji (U+1F300-U+1FAFF, no variation selector) a key may use."""

# fmt: off
KEY_BIT_WORDS = (
    "ka", "zu", "mo", "ri", "te", "lo", "vi", "nu", "pa", "se", "bo", "ki", "du", "fe",
    "ga", "ho", "ja", "mi", "ne", "po", "ru", "si", "to", "vu", "wa", "xo", "yi", "ze",
)
# fmt: on
"""Two-letter made-up words for bits: equal length, so a concatenation parses one way only."""

# fmt: off
KEY_OP_WORDS = (
    "bop", "dax", "fip", "gul", "hek", "jor", "kiv", "lum", "mep", "nox", "pim",
    "qua", "rix", "sov", "tuk", "vel", "wib", "yag", "zed", "cor", "fen",
)
# fmt: on
"""Three-letter made-up words for operation names (none is a canonical op name)."""


def fmt_num(value: int, width: int, zero: str = ZERO, one: str = ONE) -> str:
    """`value` in sign-magnitude bits, MSB first, padded to `width` (0 width: decimal)."""
    if width == 0:
        return str(value)
    mag = abs(value)
    if mag >= 1 << width:
        raise ValueError(f"{value} does not fit in {width} bits")
    bits = format(mag, f"0{width}b")
    return ("-" if value < 0 else "") + "".join(one if c == "1" else zero for c in bits)


def parse_num(text: str, zero: str = ZERO, one: str = ONE) -> int:
    """Inverse of `fmt_num` for bit strings: "-" sign optional, then `zero`/`one` symbols."""
    sign = -1 if text.startswith("-") else 1
    rest = text[1:] if sign < 0 else text
    if not rest:
        raise ValueError("empty number")
    value = 0
    while rest:
        if rest.startswith(zero):
            value, rest = value * 2, rest[len(zero) :]
        elif rest.startswith(one):
            value, rest = value * 2 + 1, rest[len(one) :]
        else:
            raise ValueError(f"not a bit symbol at {rest[:4]!r}")
    return sign * value


def dec(value: int) -> str:
    """A decimal operand in a check line: negatives in parentheses."""
    return f"({value})" if value < 0 else str(value)


def check_line(op: Op, a: int, b: int, result: int) -> str:
    """The decimal check of one operation, e.g. `2+3=5`, `min(2,3)=2`, `13=8+4+1`."""
    if op.id == "tobin":
        return f"{a}={powers(a)}"
    if op.id == "todec":
        return f"{powers(a)}={a}"
    if op.arity == 1:
        return f"{op.symbol}({a})={result}"
    if op.symbol in ("min", "max"):
        return f"{op.symbol}({dec(a)},{dec(b)})={result}"
    return f"{dec(a)}{op.symbol}{dec(b)}={result}"


def powers(value: int) -> str:
    """`13` → `8+4+1`; `0` → `0`."""
    parts = [str(1 << i) for i in range(value.bit_length() - 1, -1, -1) if value >> i & 1]
    return "+".join(parts) or "0"


def draw_operands(op: Op, width: int, rng: random.Random) -> tuple[int, int]:
    """Operands for a one-operation problem at `width` bits (b is 0 for unary ops)."""
    n = 1 << width
    if op.signed:
        a = rng.randrange(n) * rng.choice((1, -1))
        b = rng.randrange(n) * rng.choice((1, -1)) if op.arity == 2 else 0
        return a, b
    if op.id == "sub":
        x, y = rng.randrange(n), rng.randrange(n)
        return max(x, y), min(x, y)
    if op.id == "dec":
        return rng.randrange(1, n), 0
    if op.id == "eq":
        a = rng.randrange(n)
        return a, a if rng.random() < 0.5 else rng.randrange(n)
    if op.arity == 1:
        return rng.randrange(n), 0
    return rng.randrange(n), rng.randrange(n)


def space_size(op: Op, width: int) -> int:
    """Distinct operand choices of `draw_operands` for one op at `width`."""
    n = 1 << width
    if op.signed:
        return (2 * n - 1) ** op.arity
    if op.id == "sub":
        return n * (n + 1) // 2
    if op.id == "dec":
        return n - 1
    return n**op.arity


def trace_step_ok(op: Op, value: int, operand: int) -> bool:
    """Whether `op` may apply to a running `value` (and `operand`) inside a trace: unsigned
    operations need non-negative values, `dec` a positive one, `sub` a non-negative result."""
    if op.id == "dec":
        return value >= 1
    if op.id == "sub":
        return 0 <= operand <= value
    return op.signed or value >= 0
