"""The rule that picks the hero's answers worth showing: wrong first, bounded, texts cut short."""

from __future__ import annotations

from realm_tui.rules.answers import (
    SHOWN_PER_EVAL,
    TEXT_CHARS,
    AnswerSample,
    choose_samples,
    clip,
    eval_answers,
    pick_results,
    sample_line,
)


def _result(i: int, correct: bool) -> dict[str, object]:
    return {"prompt": f"q{i}", "expected": f"e{i}", "got": f"g{i}", "correct": correct, "primitives": ["x"]}


def test_wrong_answers_come_first_in_eval_order_then_right_ones() -> None:
    results = [_result(0, True), _result(1, False), _result(2, True), _result(3, False)]
    assert [r["prompt"] for r in pick_results(results, 3)] == ["q1", "q3", "q0"]
    assert [s.correct for s in choose_samples(results, 4)] == [False, False, True, True]


def test_bounded_however_many_answers_are_wrong() -> None:
    results = [_result(i, False) for i in range(100)]
    picked = choose_samples(results)
    assert len(picked) == SHOWN_PER_EVAL and [s.prompt for s in picked] == ["q0", "q1", "q2"]
    assert choose_samples(results, 0) == () and choose_samples([], 3) == ()


def test_a_perfect_eval_still_shows_what_the_hero_says() -> None:
    results = [_result(i, True) for i in range(5)]
    assert [s.prompt for s in choose_samples(results, 2)] == ["q0", "q1"]


def test_long_and_multiline_texts_become_one_short_line() -> None:
    result = {"prompt": "a\n  b " + "x" * 500, "expected": "7", "got": "8\n9", "correct": False}
    (sample,) = choose_samples([result], 1)
    assert len(sample.prompt) == TEXT_CHARS and sample.prompt.startswith("a b x") and sample.prompt.endswith("…")
    assert sample.got == "8 9" and "\n" not in sample_line(sample)
    assert clip("short") == "short"


def test_a_missing_verdict_counts_as_wrong_and_lines_say_right_or_wrong() -> None:
    (sample,) = choose_samples([{"prompt": "1+1=", "expected": "10", "got": "11"}], 1)
    assert sample == AnswerSample("1+1=", "10", "11", False)
    assert sample_line(sample) == "✗ 1+1= → 11 (expected 10)"
    assert sample_line(AnswerSample("1+1=", "10", "10", True)) == "✓ 1+1= → 10"


def test_eval_answers_names_the_eval() -> None:
    answers = eval_answers("bin", 2, 40, 0.5, [_result(0, True), _result(1, False)], total=32)
    assert answers.label == "BIN L2" and answers.total == 32 and answers.samples[0].prompt == "q1"
