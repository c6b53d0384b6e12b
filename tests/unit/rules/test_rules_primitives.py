"""Primitive catalogue and the per-primitive accuracy fold."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from realm_tui.rules.primitives import (
    PRIMITIVE_FAMILIES,
    PRIMITIVES,
    PrimitiveStats,
    PrimitiveTracker,
    TaggedResult,
    primitive_family,
    skills_for,
    unknown_primitives,
)

SKILL_PRIMITIVES = {
    "sy": ["seq_transform", "attn_select", "mem_context", "fmt_structured"],
    "bin": ["logic_chain", "xfm_encode", "attn_count", "fmt_code"],
    "logic-basics": ["logic_chain", "logic_deduce"],
}


def test_catalogue_covers_every_family() -> None:
    assert len(PRIMITIVES) == 29
    for family in PRIMITIVE_FAMILIES:
        assert sum(p.startswith(family) for p in PRIMITIVES) >= 4
    assert all(primitive_family(p) is not None for p in PRIMITIVES)
    assert primitive_family("zzz_thing") is None
    assert PRIMITIVES["logic_chain"].startswith("Transitive")


def test_unknown_primitives() -> None:
    assert unknown_primitives(["seq_reverse", "made_up", "made_up", "also"]) == ["also", "made_up"]


def test_fold_counts_accuracy_per_primitive() -> None:
    t = PrimitiveTracker()
    t = t.record(["logic_chain", "xfm_encode"], correct=True)
    t = t.record(["logic_chain"], correct=False)
    assert t.accuracy("logic_chain") == 0.5
    assert t.samples("logic_chain") == 2
    assert t.accuracy("xfm_encode") == 1.0
    assert t.accuracy("seq_reverse") is None and t.samples("seq_reverse") == 0
    assert PrimitiveTracker().stats == {}


def test_fold_is_pure_and_dedupes_tags() -> None:
    start = PrimitiveTracker()
    after = start.record(["a", "a"], correct=True)
    assert start.stats == {}
    assert after.stats == {"a": PrimitiveStats(1, 1)}


def test_weak_primitives_need_samples_and_low_accuracy() -> None:
    results = (
        [TaggedResult(["logic_chain"], i < 3) for i in range(6)]  # 0.5 over 6: weak
        + [TaggedResult(["fmt_code"], i < 1) for i in range(4)]  # 0.25 over 4: too few samples
        + [TaggedResult(["attn_count"], i < 7) for i in range(10)]  # 0.7: not below threshold
        + [TaggedResult(["xfm_encode"], i < 1) for i in range(5)]  # 0.2 over 5: weakest
    )
    t = PrimitiveTracker().record_all(results)
    assert t.weak_primitives() == ["xfm_encode", "logic_chain"]
    assert t.weak_primitives(min_samples=1) == ["xfm_encode", "fmt_code", "logic_chain"]
    assert t.weak_primitives(threshold=0.75) == ["xfm_encode", "logic_chain", "attn_count"]


def test_skills_for() -> None:
    assert skills_for("logic_chain", SKILL_PRIMITIVES) == ["bin", "logic-basics"]
    assert skills_for("seq_transform", SKILL_PRIMITIVES) == ["sy"]
    assert skills_for("xfm_map", SKILL_PRIMITIVES) == []


@given(st.lists(st.tuples(st.lists(st.sampled_from(sorted(PRIMITIVES)[:6]), max_size=3), st.booleans())))
def test_fold_invariants(results: list[tuple[list[str], bool]]) -> None:
    t = PrimitiveTracker().record_all(TaggedResult(p, c) for p, c in results)
    for pid, s in t.stats.items():
        assert 0 <= s.correct <= s.samples
        assert s.samples == sum(pid in p for p, _ in results)
    for pid in t.weak_primitives():
        acc = t.accuracy(pid)
        assert acc is not None and acc < 0.7 and t.samples(pid) >= 5
