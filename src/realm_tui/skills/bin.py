"""BIN: binary arithmetic in circled notation, levels 1-30 (see `bin_ops` for the notation).

Prompt: `Binary: ①⓪ + ①① =`; with a tier tag `Binary [verify]: ...`; with a symbol key
`Binary: key 🍎:⓪ 🍌:① 🦊:+` (symbol:meaning) then the expression, written in the key's symbols, on a second line.
Unary operations are written `inc ①⓪ =`, a trace chains steps: `①⓪ + ①① ; inc ; × ⓪① =`.
`tobin` states the width it pads to, since its decimal operand does not: `tobin 46 in 8 bits =`.

Answer, one line per item, the result always on the last line:
    plain      `①⓪①`
    verify     `2+3=5` (decimal check), then `= ①⓪①`
    show-work  `①⓪=2 ①①=3` (operands decoded), `2+3=5`, `= ①⓪①` (conversions: as verify)
    trace      each intermediate value on its own line, then `= <final value>`
Results use the key's bit symbols when there is a key; check lines are always decimal with the
canonical operation names. Scoring is exact on the final result: the text after the last "="
of the last non-empty line of the answer.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from realm_tui.config.skill import BinConfig, BinLevel, Tier
from realm_tui.skills.base import Problem, SkillBase
from realm_tui.skills.bin_ops import (
    KEY_BIT_WORDS,
    KEY_EMOJI,
    KEY_OP_WORDS,
    ONE,
    OPS,
    TRACE_OPS,
    ZERO,
    Op,
    check_line,
    draw_operands,
    fmt_num,
    space_size,
    trace_step_ok,
)

TIER_ORDER: tuple[Tier, ...] = ("plain", "verify", "show-work", "trace")
MAX_TRACE_GROWTH = 4
"""A trace's running value never gets wider than 2 * width + this many bits."""


@dataclass(frozen=True)
class Key:
    """A symbol key: what stands for ⓪, ① and each canonical operation name."""

    zero: str = ZERO
    one: str = ONE
    ops: dict[str, str] = field(default_factory=dict)

    def op(self, symbol: str) -> str:
        return self.ops.get(symbol, symbol)

    def num(self, value: int, width: int) -> str:
        return fmt_num(value, width, self.zero, self.one)

    def text(self) -> str:
        pairs = [f"{self.zero}:{ZERO}", f"{self.one}:{ONE}"]
        pairs += [f"{glyph}:{canon}" for canon, glyph in self.ops.items()]
        return " ".join(pairs)


PLAIN = Key()


def extract_result(text: str) -> str:
    """The final result of an answer: after the last "=" of its last non-empty line."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    return lines[-1].rsplit("=", 1)[-1].strip()


def _unique(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


class BinSkill(SkillBase):
    """Generator and scorer for BIN."""

    skill_id = "bin"
    config: BinConfig

    def __init__(self, config: BinConfig) -> None:
        super().__init__(config)

    @staticmethod
    def width(level: int) -> int:
        """Bit width of operands at `level`."""
        return level + 1

    def difficulty(self, level: int) -> dict[str, float]:
        """Operand bits, the widest answer in bits, operations, symbol keys (share and kinds),
        the share of worked tiers (verify / show-work / trace), the share and length of traces."""
        lv = self.config.level(level)
        width = self.width(level)
        total = sum(lv.tiers.values())
        trace = lv.tiers.get("trace", 0.0) / total
        return {
            "operand_bits": width,
            "answer_bits": max(OPS[o].width(width, width) for o in lv.ops),
            "operations": len(set(lv.ops)),
            "key_share": lv.key_share,
            "key_kinds": len(set(lv.key_kinds)) if lv.key_share > 0 else 0,
            "worked_share": 1.0 - lv.tiers.get("plain", 0.0) / total,
            "trace_share": trace,
            "trace_steps_min": lv.trace_steps[0] if trace > 0 else 0,
            "trace_steps_max": lv.trace_steps[1] if trace > 0 else 0,
        }

    def question_space(self, level: int) -> int | None:
        lv = self.config.level(level)
        if lv.key_share > 0 or lv.tiers.get("trace", 0) > 0 or level > 9:
            return None
        width = self.width(level)
        by_qid = {OPS[o].symbol: space_size(OPS[o], width) for o in lv.ops}
        return sum(by_qid.values())

    def question_families(self, level: int) -> dict[str, int | None] | None:
        """Per operation (qid space: a symbol key does not make a new question), plus `trace`
        (unlimited) when the level draws traces."""
        lv = self.config.level(level)
        width = self.width(level)
        families: dict[str, int | None] = {o: space_size(OPS[o], width) for o in lv.ops}
        if lv.tiers.get("trace", 0) > 0 and any(o in TRACE_OPS for o in lv.ops):
            families["trace"] = None
        return families

    def family_of(self, problem: Problem) -> str:
        return str(problem.meta.get("op", ""))

    def score(self, problem: Problem, answer_text: str) -> bool:
        got = extract_result(answer_text)
        return bool(got) and got == extract_result(problem.expected)

    def partial_credit(self, problem: Problem, answer_text: str) -> float:
        """Share of the expected result's symbols (bits, or a keyed/word result's characters)
        that the answer's result has at the same place, counted from the right (the low bit
        first), over the longer of the two: a result with extra or missing symbols loses them."""
        got, want = extract_result(answer_text), extract_result(problem.expected)
        if not got or not want:
            return 0.0
        same = sum(1 for a, b in zip(reversed(got), reversed(want), strict=False) if a == b)
        return same / max(len(got), len(want))

    def well_formed(self, problem: Problem, answer_text: str) -> bool:
        """The answer's result has as many symbols as the expected one, each a symbol the
        problem shows (the bits or the key's symbols of its prompt, or of its expected answer)."""
        got, want = extract_result(answer_text), extract_result(problem.expected)
        return bool(got) and len(got) == len(want) and set(got) <= set(problem.prompt) | set(problem.expected)

    def can_still_score(self, problem: Problem, prefix: str, more_chars: int) -> bool:
        """A right answer's text, right-stripped, ends with the expected result R (the result is
        the stripped tail of the last non-empty line). So R must fit in what is still to come,
        or start in the prefix's tail, or already end the prefix."""
        want = extract_result(problem.expected)
        if not want or len(want) <= more_chars or prefix.rstrip().endswith(want):
            return True
        return any(prefix.endswith(want[:j]) for j in range(max(1, len(want) - more_chars), len(want)))

    # -- generation ---------------------------------------------------------------------------

    def make_one(self, level: int, rng: random.Random) -> Problem:
        lv = self.config.level(level)
        weights = [lv.tiers.get(t, 0.0) for t in TIER_ORDER]
        tier: str = rng.choices(TIER_ORDER, weights=weights)[0]
        keyed = rng.random() < lv.key_share
        chain_ops: list[str] = [o for o in lv.ops if o in TRACE_OPS]
        if tier == "trace" and chain_ops:
            return self._trace(level, lv, chain_ops, keyed, rng)
        if tier == "trace":
            tier = "plain"
        return self._single(level, lv, tier, keyed, rng)

    def _key(self, lv: BinLevel, symbols: list[str], rng: random.Random) -> Key:
        symbols = list(dict.fromkeys(symbols))
        kind = rng.choice(lv.key_kinds)
        if kind == "emoji":
            glyphs = rng.sample(KEY_EMOJI, 2 + len(symbols))
            return Key(glyphs[0], glyphs[1], dict(zip(symbols, glyphs[2:], strict=True)))
        zero, one = rng.sample(KEY_BIT_WORDS, 2)
        words = rng.sample(KEY_OP_WORDS, len(symbols))
        return Key(zero, one, dict(zip(symbols, words, strict=True)))

    def _prompt(self, tier: str, key: Key, expr: str) -> str:
        tag = "" if tier == "plain" else f" [{tier}]"
        if key is PLAIN:
            return f"Binary{tag}: {expr} ="
        return f"Binary{tag}: key {key.text()}\n{expr} ="

    def _primitives(self, ops: list[Op], tier: str, key: Key) -> tuple[str, ...]:
        prims = [p for op in ops for p in op.primitives]
        if tier in ("verify", "show-work"):
            prims.append("fmt_structured")
        if tier == "show-work":
            prims.append("xfm_decode")
        if tier == "trace":
            prims += ["logic_chain", "mem_update"]
        if key is not PLAIN:
            prims += ["xfm_substitute", "mem_recall"]
        return _unique(prims)

    def _single(self, level: int, lv: BinLevel, tier: str, keyed: bool, rng: random.Random) -> Problem:
        width = self.width(level)
        op = OPS[rng.choice(lv.ops)]
        a, b = draw_operands(op, width, rng)
        key = self._key(lv, [op.symbol], rng) if keyed else PLAIN
        result = op.compute(a, b)
        rwidth = op.width(width, width)
        sym = key.op(op.symbol)
        first = str(a) if op.id == "tobin" else key.num(a, width)
        expr = f"{sym} {first}" if op.arity == 1 else f"{first} {sym} {key.num(b, width)}"
        if op.id == "tobin":
            # The prompt states the width: the decimal operand alone does not say how far to pad,
            # and the same `tobin 46` must not mean 8 bits at one level and 9 at the next.
            expr += f" in {rwidth} bits"
        final = key.num(result, rwidth)
        lines = [final]
        if tier in ("verify", "show-work"):
            lines = [check_line(op, a, b, result), f"= {final}"]
        if tier == "show-work" and op.id not in ("tobin", "todec"):
            shown = [first] if op.arity == 1 else [first, key.num(b, width)]
            values = [a] if op.arity == 1 else [a, b]
            decoded = " ".join(f"{t}={v}" for t, v in dict(zip(shown, values, strict=True)).items())
            lines.insert(0, decoded)
        meta = {
            "qid": f"{op.symbol}:{a}:{b}",
            "op": op.id,
            "operands": [a, b][: op.arity],
            "width": width,
            "result": result,
            "result_width": rwidth,
            "key": None if key is PLAIN else {"zero": key.zero, "one": key.one, "ops": key.ops},
        }
        return Problem(
            skill="bin",
            level=level,
            prompt=self._prompt(tier, key, expr),
            expected="\n".join(lines),
            primitives=self._primitives([op], tier, key),
            tier=tier,
            meta=meta,
        )

    def _trace(self, level: int, lv: BinLevel, chain_ops: list[str], keyed: bool, rng: random.Random) -> Problem:
        width = self.width(level)
        cap = 2 * width + MAX_TRACE_GROWTH
        n = 1 << width
        steps = rng.randint(*lv.trace_steps)
        first = OPS[rng.choice(chain_ops)]
        a, b = draw_operands(first, width, rng)
        value, cw = first.compute(a, b), first.width(width, width)
        chain: list[tuple[Op, int]] = []
        values = [(value, cw)]
        for _ in range(steps - 1):
            op, x = self._next_step(chain_ops, value, cw, width, cap, n, rng)
            value, cw = op.compute(value, x), op.width(cw, width)
            chain.append((op, x))
            values.append((value, cw))
        used = [first] + [op for op, _ in chain]
        key = self._key(lv, [o.symbol for o in used], rng) if keyed else PLAIN
        parts = [
            f"{key.op(first.symbol)} {key.num(a, width)}"
            if first.arity == 1
            else f"{key.num(a, width)} {key.op(first.symbol)} {key.num(b, width)}"
        ]
        for op, x in chain:
            parts.append(key.op(op.symbol) if op.arity == 1 else f"{key.op(op.symbol)} {key.num(x, width)}")
        lines = [key.num(v, w) for v, w in values[:-1]]
        lines.append(f"= {key.num(*values[-1])}")
        qid = ";".join([f"{first.symbol}:{a}:{b}"] + [f"{op.symbol}:{x}" for op, x in chain])
        meta = {
            "qid": f"trace:{qid}",
            "op": "trace",
            "steps": [[first.id, a, b]] + [[op.id, x] for op, x in chain],
            "width": width,
            "result": values[-1][0],
            "result_width": values[-1][1],
            "key": None if key is PLAIN else {"zero": key.zero, "one": key.one, "ops": key.ops},
        }
        return Problem(
            skill="bin",
            level=level,
            prompt=self._prompt("trace", key, " ; ".join(parts)),
            expected="\n".join(lines),
            primitives=self._primitives(used, "trace", key),
            tier="trace",
            meta=meta,
        )

    @staticmethod
    def _next_step(
        chain_ops: list[str], value: int, cw: int, width: int, cap: int, n: int, rng: random.Random
    ) -> tuple[Op, int]:
        for _ in range(50):
            op = OPS[rng.choice(chain_ops)]
            if op.arity == 1:
                x = 0
            elif op.signed:
                x = rng.randrange(n) * rng.choice((1, -1))
            elif op.id == "sub":
                x = rng.randrange(min(max(value, 0), n - 1) + 1)
            else:
                x = rng.randrange(n)
            if trace_step_ok(op, value, x) and op.width(cw, width) <= cap:
                return op, x
        # Rarely reached: a step that never widens and is valid for any value.
        for fallback in ("abs", "hlf", "dec"):
            op = OPS[fallback]
            if fallback in chain_ops and trace_step_ok(op, value, 0):
                return op, 0
        return OPS["abs"], 0
