"""Every problem's prompt determines its answer, checked by solvers of our own (`fair_solvers`).

BIN: at least 200 problems per level (1-30), each solved from the prompt alone without being
told the level; the gold result must be the solver's, and one prompt text must have one answer
across every level. SY: at least 200 puzzles per level (1-50), each searched exhaustively (every
word a clue admits, every tile split, clue order) for every answer: exactly one must exist and
it must be the gold one.
"""

from __future__ import annotations

import pytest
from fair_solvers import bin_final, parse_sy, solve_bin, sy_answers, sy_gold

from realm_tui.skills import get_skill

BIN = get_skill("bin")
SY = get_skill("sy")
PER_LEVEL = 200


def bin_problems(level: int) -> list:
    """The eval pool (what grading uses) topped up with fresh draws to PER_LEVEL + 56."""
    pool = BIN.eval_pool(level)
    return pool + BIN.generate(level, max(0, PER_LEVEL + 56 - len(pool)), seed=4242 + level)


@pytest.mark.parametrize("level", range(1, BIN.max_level + 1))
def test_bin_answers_follow_from_the_prompt_alone(level: int) -> None:
    problems = bin_problems(level)
    assert len(problems) >= PER_LEVEL
    for p in problems:
        solved = solve_bin(p.prompt)
        assert bin_final(p.expected) == solved.final_text, (p.prompt, p.expected)
        assert p.tier == solved.tier
        lines = p.expected.split("\n")
        if solved.tier == "plain":
            assert lines == [solved.final_text]
        elif solved.tier == "trace":
            assert lines == solved.lines[:-1] + [f"= {solved.final_text}"]
        else:
            assert lines[-1] == f"= {solved.final_text}"
        assert BIN.score(p, solved.final_text)


def test_one_bin_prompt_has_one_answer_at_every_level() -> None:
    seen: dict[str, tuple[int, str]] = {}
    for level in range(1, BIN.max_level + 1):
        for p in bin_problems(level) + BIN.training_batch(level, 2000, 0):
            first = seen.setdefault(p.prompt, (level, p.expected))
            assert first[1] == p.expected, f"{p.prompt!r}: L{first[0]} says {first[1]!r}, L{level} {p.expected!r}"


def test_tobin_states_its_width() -> None:
    tobins = [p for lv in (7, 8, 20) for p in BIN.generate(lv, 400, seed=lv) if p.meta["op"] == "tobin"]
    assert tobins
    for p in tobins:
        assert p.prompt.rstrip(" =").endswith(f" in {p.level + 1} bits"), p.prompt


@pytest.mark.slow  # ~70 s of CPU for all 50 levels: mostly building the eval pools
@pytest.mark.parametrize("level", range(1, SY.max_level + 1))
def test_sy_puzzles_have_exactly_one_answer(level: int) -> None:
    pool = SY.eval_pool(level)
    assert len(pool) >= PER_LEVEL
    for p in pool:
        answers = sy_answers(p.prompt, limit=2)
        assert len(answers) == 1, f"{len(answers)} answers to\n{p.prompt}\n{answers}"
        assert answers[0] == sy_gold(p.expected), p.prompt
        assert SY.score(p, p.expected) and SY.score(p, p.expected, strict=True)


def test_the_sy_solver_sees_the_ambiguities_the_old_check_missed() -> None:
    """The solver itself can fail: it finds the second answers of the issue's examples."""
    two_words = "Tiles: COL LAB O RA TION TIVE\n1. related: collaborate: _ _ _ _ _"
    found = sy_answers("x\n" + two_words)
    assert {a["words"][0]["word"] for a in found} == {"COLLABORATION", "COLLABORATIVE"}
    splits = "Tiles: DE TE RI O RA TION TER I\n1. starts with D; length 13: _ _ _ _ _ _"
    assert len(sy_answers("x\n" + splits)) == 2  # DE-TE-RI-O-RA-TION and DE-TER-I-O-RA-TION
    puzzle = parse_sy("x\n" + splits)
    assert puzzle.clues == [("starts with D; length 13", 6)]
