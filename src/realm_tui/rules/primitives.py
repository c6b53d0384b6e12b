"""Primitives: the atomic operations skills are built from, and per-primitive accuracy.

Every eval problem is tagged with the primitives it exercises. Folding the results gives an
accuracy per primitive; a primitive under 0.7 over at least 5 samples is *weak*, and the skills
that exercise it are the ones to train.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

PRIMITIVE_FAMILIES: dict[str, str] = {
    "seq_": "Sequence: pattern operations",
    "logic_": "Logic: deductive reasoning",
    "mem_": "Memory: context and recall",
    "fmt_": "Format: output structure",
    "attn_": "Attention: selection and counting",
    "xfm_": "Transform: data manipulation",
}

PRIMITIVES: dict[str, str] = {
    "seq_continue": "Continue a pattern (1, 2, 3, ? → 4)",
    "seq_reverse": "Reverse a sequence (abc → cba)",
    "seq_transform": "Apply a transformation rule (A→a, B→b, C→? → c)",
    "seq_interleave": "Merge two sequences ([1,2], [a,b] → [1,a,2,b])",
    "seq_extract": "Pull a subsequence by rule (every 3rd char of abcdefghi → cfi)",
    "logic_deduce": "Modus ponens (A→B, A ∴ B)",
    "logic_contrapose": "Modus tollens (A→B, ¬B ∴ ¬A)",
    "logic_chain": "Transitive inference (A→B, B→C ∴ A→C)",
    "logic_disjunct": "Disjunctive syllogism (A∨B, ¬A ∴ B)",
    "logic_biconditional": "If and only if (A↔B, A ∴ B)",
    "mem_recall": "Retrieve a stated fact",
    "mem_context": "Use the context window (multi-turn consistency)",
    "mem_compose": "Combine several facts (A>B, B>C → A>C)",
    "mem_update": "Override earlier information (X=5, now X=7 → 7)",
    "fmt_json": "Output valid JSON",
    "fmt_table": "Output tabular data",
    "fmt_code": "Syntactically correct code",
    "fmt_list": "Numbered or bulleted list",
    "fmt_structured": "Follow an output template",
    "attn_select": "Pick the relevant item out of noise",
    "attn_count": "Count occurrences",
    "attn_compare": "Compare two items",
    "attn_filter": "Filter by a condition",
    "attn_rank": "Order by a criterion",
    "xfm_encode": "Apply an encoding scheme",
    "xfm_decode": "Reverse an encoding",
    "xfm_map": "Apply a function to each item",
    "xfm_reduce": "Aggregate to a single value",
    "xfm_substitute": "Replace by rule",
}
"""The primitive catalogue: id → description."""

WEAK_THRESHOLD = 0.7
WEAK_MIN_SAMPLES = 5


def primitive_family(primitive: str) -> str | None:
    """The family prefix of a primitive id (``"seq_"`` …), or ``None`` for an unknown family."""
    return next((p for p in PRIMITIVE_FAMILIES if primitive.startswith(p)), None)


def unknown_primitives(ids: Iterable[str]) -> list[str]:
    """The ids not in the catalogue, sorted and without duplicates."""
    return sorted({i for i in ids if i not in PRIMITIVES})


@dataclass(frozen=True)
class PrimitiveStats:
    correct: int = 0
    samples: int = 0

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.samples if self.samples else None


@dataclass(frozen=True)
class TaggedResult:
    """One scored eval problem and the primitives it exercises."""

    primitives: Sequence[str]
    correct: bool


@dataclass(frozen=True)
class PrimitiveTracker:
    """Per-primitive results folded from tagged eval results. Start from ``PrimitiveTracker()``."""

    stats: Mapping[str, PrimitiveStats] = field(default_factory=dict)

    def record(self, primitives: Iterable[str], correct: bool) -> PrimitiveTracker:
        """A new tracker with one result added to each primitive (each counted once)."""
        updated = dict(self.stats)
        for pid in dict.fromkeys(primitives):
            old = updated.get(pid, PrimitiveStats())
            updated[pid] = PrimitiveStats(old.correct + int(correct), old.samples + 1)
        return PrimitiveTracker(updated)

    def record_all(self, results: Iterable[TaggedResult]) -> PrimitiveTracker:
        tracker = self
        for result in results:
            tracker = tracker.record(result.primitives, result.correct)
        return tracker

    def accuracy(self, primitive: str) -> float | None:
        return self.stats.get(primitive, PrimitiveStats()).accuracy

    def samples(self, primitive: str) -> int:
        return self.stats.get(primitive, PrimitiveStats()).samples

    def weak_primitives(self, min_samples: int = WEAK_MIN_SAMPLES, threshold: float = WEAK_THRESHOLD) -> list[str]:
        """Primitives with accuracy below ``threshold`` over at least ``min_samples``; weakest first."""
        weak = [
            (s.correct / s.samples, pid)
            for pid, s in self.stats.items()
            if s.samples >= max(1, min_samples) and s.correct / s.samples < threshold
        ]
        return [pid for _, pid in sorted(weak)]


def skills_for(primitive: str, skill_primitives: Mapping[str, Sequence[str]]) -> list[str]:
    """The skills (or modules) that exercise ``primitive``, sorted."""
    return sorted(skill for skill, prims in skill_primitives.items() if primitive in prims)
