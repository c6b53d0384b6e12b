"""Curriculum mixing (`plan_mix`): shares, strategies, review and maintenance."""

from __future__ import annotations

import random
import subprocess
import sys
from collections import Counter
from typing import Any

import pytest

from realm_tui.skills.curriculum import MAINTENANCE_SHARE, QUEST, Source, plan_mix, skill_slots, summarize


def skill(level: int, mastered: int | None = None, weight: float = 1.0, maintenance: tuple[int, ...] = ()) -> dict:
    mastered = level - 1 if mastered is None else mastered
    return {
        "level": level,
        "mastered": mastered,
        "weight": weight,
        "review_levels": list(range(1, mastered + 1)),
        "maintenance_levels": list(maintenance),
    }


def curriculum(skills: dict[str, dict], **kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "strategy": "weighted",
        "focus_skill": None,
        "quest_share": 0.5,
        "review_share": 0.2,
        "skills": skills,
    }
    return base | kw


def draw(cur: dict, steps: int = 400, n: int = 32, has_quest: bool = True, seed: int = 0) -> list[Source]:
    rng = random.Random(seed)
    out: list[Source] = []
    for step in range(steps):
        plan = plan_mix(cur, n, rng, has_quest=has_quest, step=step)
        assert len(plan) == n
        out += plan
    return out


def share(sources: list[Source], pred: Any) -> float:
    return sum(1 for s in sources if pred(s)) / len(sources)


def test_quest_and_review_shares_hold_over_many_draws() -> None:
    cur = curriculum({"bin": skill(4), "sy": skill(2)}, quest_share=0.3, review_share=0.25)
    sources = draw(cur)
    assert share(sources, lambda s: s.is_quest) == pytest.approx(0.3, abs=0.01)
    skills_only = [s for s in sources if not s.is_quest]
    assert share(skills_only, lambda s: s.review) == pytest.approx(0.25, abs=0.015)
    for s in skills_only:
        mastered = 3 if s.skill == "bin" else 1
        assert (s.level <= mastered) if s.review else (s.level == mastered + 1)


def test_each_step_is_within_one_example_of_the_share() -> None:
    cur = curriculum({"bin": skill(2)}, quest_share=0.37)
    rng = random.Random(1)
    for _ in range(200):
        quest = sum(1 for s in plan_mix(cur, 10, rng) if s.is_quest)
        assert quest in (3, 4)


def test_no_quest_means_all_skill_data_and_no_skills_all_quest_data() -> None:
    cur = curriculum({"bin": skill(1)}, quest_share=0.9)
    assert all(not s.is_quest for s in draw(cur, steps=20, has_quest=False))
    assert plan_mix(curriculum({}), 8, random.Random(0)) == [QUEST] * 8
    assert plan_mix({}, 3, random.Random(0)) == [QUEST] * 3
    assert plan_mix(curriculum({"bin": skill(1)}, quest_share=1.0), 5, random.Random(0)) == [QUEST] * 5
    with pytest.raises(ValueError, match="nothing to train on"):
        plan_mix(curriculum({}), 4, random.Random(0), has_quest=False)


def test_no_review_when_nothing_is_mastered() -> None:
    cur = curriculum({"bin": skill(1), "sy": skill(1)}, quest_share=0.0, review_share=0.6)
    sources = draw(cur, steps=50)
    assert not any(s.review for s in sources)
    assert {(s.skill, s.level) for s in sources} == {("bin", 1), ("sy", 1)}


def test_weighted_follows_the_weights() -> None:
    cur = curriculum({"bin": skill(1, weight=3.0), "sy": skill(1, weight=1.0)}, quest_share=0.0)
    counts = Counter(s.skill for s in draw(cur))
    assert counts["bin"] / (counts["bin"] + counts["sy"]) == pytest.approx(0.75, abs=0.02)
    # All weights zero: the skills share equally rather than starve.
    cur = curriculum({"bin": skill(1, weight=0.0), "sy": skill(1, weight=0.0)}, quest_share=0.0)
    counts = Counter(s.skill for s in draw(cur, steps=100))
    assert counts["bin"] / sum(counts.values()) == pytest.approx(0.5, abs=0.03)


def test_round_robin_gives_each_step_to_the_next_skill() -> None:
    cur = curriculum({"sy": skill(1), "bin": skill(1)}, strategy="round_robin", quest_share=0.0)
    rng = random.Random(0)
    firsts = [{s.skill for s in plan_mix(cur, 16, rng, step=step)} for step in range(6)]
    assert firsts == [{"bin"}, {"sy"}] * 3


def test_lowest_first_trains_the_lowest_level_and_reviews_the_rest() -> None:
    cur = curriculum({"bin": skill(5), "sy": skill(2)}, strategy="lowest_first", quest_share=0.0, review_share=0.2)
    sources = draw(cur, steps=100)
    new = [s for s in sources if not s.review]
    assert {(s.skill, s.level) for s in new} == {("sy", 2)}
    assert {s.skill for s in sources if s.review} == {"bin", "sy"}
    tied = curriculum({"bin": skill(2), "sy": skill(2)}, strategy="lowest_first", quest_share=0.0)
    assert {s.skill for s in draw(tied, steps=30)} == {"bin", "sy"}


def test_focus_trains_only_the_focus_skill_but_still_reviews_others() -> None:
    cur = curriculum(
        {"bin": skill(3), "sy": skill(4)}, strategy="focus", focus_skill="bin", quest_share=0.0, review_share=0.3
    )
    sources = draw(cur, steps=100)
    assert {(s.skill, s.level) for s in sources if not s.review} == {("bin", 3)}
    assert {s.skill for s in sources if s.review} == {"bin", "sy"}
    missing = curriculum({"bin": skill(1), "sy": skill(1)}, strategy="focus", focus_skill="nope", quest_share=0.0)
    assert {s.skill for s in draw(missing, steps=20)} == {"bin", "sy"}, "an unknown focus falls back to all"


def test_review_goes_to_maintenance_levels_first_then_uniformly() -> None:
    cur = curriculum({"bin": skill(6, maintenance=(2,))}, quest_share=0.0, review_share=0.5)
    review = [s for s in draw(cur, steps=400) if s.review]
    levels = Counter(s.level for s in review)
    assert set(levels) == {1, 2, 3, 4, 5}
    expected_two = MAINTENANCE_SHARE + (1 - MAINTENANCE_SHARE) / 5
    assert levels[2] / len(review) == pytest.approx(expected_two, abs=0.03)
    assert levels[4] / len(review) == pytest.approx((1 - MAINTENANCE_SHARE) / 5, abs=0.02)


def test_plans_are_deterministic_in_the_rng_and_summaries_count_by_level() -> None:
    cur = curriculum({"bin": skill(3), "sy": skill(2)})
    a = plan_mix(cur, 64, random.Random("realm-mix:1:7"))
    b = plan_mix(cur, 64, random.Random("realm-mix:1:7"))
    assert a == b
    summary = summarize(a)
    assert sum(summary.values()) == sum(1 for s in a if not s.is_quest)
    assert all(skill_id in ("bin", "sy") for skill_id, _ in summary)


def test_skill_slots_ignore_bad_entries() -> None:
    cur = {"skills": {"bin": {"level": 0}, "sy": {"level": 2, "weight": float("nan"), "review_levels": [1, 0, 1]}}}
    (slot,) = skill_slots(cur)
    assert slot.id == "sy" and slot.weight == 0.0 and slot.review_levels == (1,)


def test_curriculum_module_is_pure() -> None:
    probe = "import realm_tui.skills.curriculum, sys; print(sorted(m for m in sys.modules if m.startswith('torch')))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
