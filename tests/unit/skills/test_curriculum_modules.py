"""Quest modules in the step plan (`plan_mix`): share by weight against the skills, priority order."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest

from realm_tui.skills.curriculum import (
    module_shares,
    module_slots,
    plan_mix,
    summarize,
    summarize_modules,
)


def skill(level: int, weight: float = 1.0) -> dict[str, Any]:
    mastered = level - 1
    return {
        "level": level,
        "mastered": mastered,
        "weight": weight,
        "review_levels": list(range(1, mastered + 1)),
        "maintenance_levels": [],
    }


def module(mid: str, weight: float, priority: int = 0, **kw: Any) -> dict[str, Any]:
    return {"id": mid, "weight": weight, "priority": priority, "files": [f"/m/{mid}/data/level1.jsonl"]} | kw


def curriculum(skills: dict[str, Any], modules: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "strategy": "weighted",
        "focus_skill": None,
        "quest_share": 0.5,
        "review_share": 0.2,
        "skills": skills,
        "modules": modules,
    }
    return base | kw


def kinds(cur: dict[str, Any], steps: int = 400, n: int = 32, has_quest: bool = True) -> Counter[str]:
    rng = random.Random(3)
    counts: Counter[str] = Counter()
    for step in range(steps):
        plan = plan_mix(cur, n, rng, has_quest=has_quest, step=step)
        assert len(plan) == n
        counts.update(s.module if s.kind == "module" else s.kind for s in plan)
    return counts


def test_modules_share_the_non_quest_part_with_the_skills_by_weight() -> None:
    # skills weigh 1 + 1, modules 1.5 + 0.5: the modules get half of the non-quest examples, 3:1.
    cur = curriculum({"bin": skill(3), "sy": skill(1)}, [module("a", 1.5, 1), module("b", 0.5, 0)])
    counts = kinds(cur)
    total = sum(counts.values())
    assert counts["quest"] / total == pytest.approx(0.5, abs=0.01)
    assert (counts["a"] + counts["b"]) / total == pytest.approx(0.25, abs=0.01)
    assert counts["a"] / total == pytest.approx(0.1875, abs=0.01)
    assert counts["b"] / total == pytest.approx(0.0625, abs=0.01)
    assert module_shares(cur) == {"b": pytest.approx(0.125), "a": pytest.approx(0.375)}


def test_priority_orders_the_deal_but_every_module_keeps_its_weight_share() -> None:
    low, high = module("zeta", 1.0, priority=0), module("alpha", 1.0, priority=5)
    cur = curriculum({"bin": skill(2)}, [high, low], quest_share=0.0)
    assert [m.id for m in module_slots(cur)] == ["zeta", "alpha"], "lower priority number first, not by id"
    rng = random.Random(0)
    for step in range(50):
        plan = plan_mix(cur, 16, rng, step=step)
        mods = [s.module for s in plan if s.kind == "module"]
        assert mods == sorted(mods, key=["zeta", "alpha"].index), "modules are dealt in priority order"
        assert list(summarize_modules(plan)) == [m for m in ("zeta", "alpha") if m in mods]
        assert sum(summarize(plan).values()) == sum(1 for s in plan if s.kind == "skill")
    counts = kinds(cur)
    assert counts["zeta"] / counts["alpha"] == pytest.approx(1.0, abs=0.05)
    # Equal priorities: by id.
    assert [m.id for m in module_slots(curriculum({}, [module("b", 1), module("a", 1)]))] == ["a", "b"]


def test_skipped_empty_or_weightless_modules_take_no_part() -> None:
    cur = curriculum(
        {"bin": skill(1)},
        [
            module("skipped", 1.0, skipped="needs hero level 3; the hero is level 0"),
            module("nofiles", 1.0, files=[]),
            module("zero", 0.0),
            module("used", 1.0),
        ],
        quest_share=0.0,
    )
    assert [m.id for m in module_slots(cur)] == ["used"]
    counts = kinds(cur, steps=100)
    assert set(counts) == {"used", "skill"}
    assert counts["used"] / sum(counts.values()) == pytest.approx(0.5, abs=0.02)


def test_without_modules_the_plan_is_unchanged_and_without_skills_modules_fill_the_rest() -> None:
    skills = {"bin": skill(3), "sy": skill(2)}
    with_empty = curriculum(skills, [])
    without = {k: v for k, v in with_empty.items() if k != "modules"}
    a = [plan_mix(with_empty, 32, random.Random(f"s{i}"), step=i) for i in range(20)]
    b = [plan_mix(without, 32, random.Random(f"s{i}"), step=i) for i in range(20)]
    assert a == b, "no module: the same random draws as before modules existed"
    only = curriculum({}, [module("a", 1.0), module("b", 3.0)], quest_share=0.25)
    counts = kinds(only)
    total = sum(counts.values())
    assert counts["quest"] / total == pytest.approx(0.25, abs=0.01)
    assert counts["b"] / counts["a"] == pytest.approx(3.0, rel=0.08)
    assert set(kinds(only, steps=10, has_quest=False)) == {"a", "b"}
