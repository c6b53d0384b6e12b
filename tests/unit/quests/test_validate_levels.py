"""Validation levels: schema edge cases, content (loops, empty turns, duplicates), tokens."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from realm_tui.quests.policy import QuestPolicy
from realm_tui.quests.tokens import count_chars, counter_for, estimate_tokens, example_tokens
from realm_tui.quests.validate import LEVELS, QuestReport, check_example, validate_quest_file

from ._helpers import example, line, write


def _check(path: Path, **options: Any) -> QuestReport:
    return validate_quest_file(path, levels=LEVELS, **options)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ('{"messages": [{"role": "assistant", "content": NaN}]}', "NaN is not valid JSON"),
        ("[" * 100_000 + "]" * 100_000, "bad JSON"),
        ("1" * 5000, "bad JSON"),
        ('{"messages": [{"role": ["x"], "content": "hi"}]}', "role is ['x']"),
        ('{"messages": [{"role": "assistant", "content": "\\ud800"}]}', "surrogate"),
        ('"just a string"', "expected a JSON object"),
    ],
)
def test_schema_edge_cases_are_problems_not_crashes(tmp_path: Path, raw: str, reason: str) -> None:
    report = validate_quest_file(write(tmp_path / "q.jsonl", [line(), raw]))
    assert report.valid_lines == (1,)
    assert len(report.problems) == 1 and reason in report.problems[0].reason
    assert report.problems[0].level == "schema"


def test_bom_crlf_and_missing_final_newline_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + line().encode() + b"\r\n" + line("b", "c").encode())
    out = tmp_path / "clean.jsonl"
    report = validate_quest_file(path, clean_to=out)
    assert report.ok and report.valid_lines == (1, 2)
    cleaned = out.read_bytes()
    assert not cleaned.startswith(b"\xef\xbb\xbf") and cleaned.endswith(b"\n")
    assert [json.loads(x) for x in cleaned.splitlines()] == [example(), example("b", "c")]


def test_overlong_line_is_skipped_unread(tmp_path: Path) -> None:
    big = json.dumps(example("x" * 5000, "y"))
    path = write(tmp_path / "q.jsonl", [line(), big, line("after", "ok")])
    report = validate_quest_file(path, policy=QuestPolicy(max_line_bytes=1024))
    assert report.valid_lines == (1, 3)
    assert "longer than 1,024 bytes" in report.problems[0].reason


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("ab" * 200, "repetitive answer"),
        ("the " * 12, "10 times in a row"),
        ("", "no assistant turn"),
    ],
)
def test_degenerate_answers_fail_the_content_level(tmp_path: Path, answer: str, reason: str) -> None:
    report = _check(write(tmp_path / "q.jsonl", [line(), line("loop?", answer)]))
    assert report.valid_lines == (1,)
    assert reason in report.problems[0].reason


def test_legitimate_repetition_in_short_answers_is_kept(tmp_path: Path) -> None:
    all_ones = "①" * 32  # a 32-bit BIN answer
    report = _check(write(tmp_path / "q.jsonl", [line("max?", all_ones), line("zero?", "0 0 0 0")]))
    assert report.ok


def test_empty_assistant_turn_among_others(tmp_path: Path) -> None:
    multi = {
        "messages": [
            {"role": "user", "content": "a"},
            {"role": "assistant", "content": " "},
            {"role": "user", "content": "b"},
            {"role": "assistant", "content": "c"},
        ]
    }
    report = _check(write(tmp_path / "q.jsonl", [json.dumps(multi)]))
    assert "messages[1] is an empty assistant turn" in report.problems[0].reason


def test_duplicates_are_content_problems_only_at_the_content_level(tmp_path: Path) -> None:
    path = write(tmp_path / "q.jsonl", [line(), line("other", "x"), line()])
    assert validate_quest_file(path).ok  # schema only: duplicates are fine
    report = _check(path)
    assert report.valid_lines == (1, 2)
    assert report.problems[0].reason == "duplicate of line 1"
    assert report.problems[0].level == "content"
    assert _check(path, policy=QuestPolicy(reject_duplicates=False)).ok


def _multi_turn(n: int, size: int) -> str:
    messages = []
    for i in range(n):
        messages += [{"role": "user", "content": f"q{i}" + "x" * size}, {"role": "assistant", "content": f"a{i}"}]
    return json.dumps({"messages": messages})


def test_too_long_is_truncated_to_whole_turns(tmp_path: Path) -> None:
    path = write(tmp_path / "q.jsonl", [_multi_turn(4, 40), line("short", "ok")])
    out = tmp_path / "clean.jsonl"
    report = _check(path, count_tokens=count_chars, max_tokens=140, clean_to=out)
    assert report.ok and report.truncated_lines == (1,)
    first = json.loads(out.read_text().splitlines()[0])
    assert first["messages"][-1] == {"role": "assistant", "content": "a1"}  # two exchanges fit
    assert example_tokens(first["messages"], count_chars) <= 140
    assert report.tokens.over_limit == 1 and report.tokens.limit == 140
    assert "truncated to fit 140 tokens" in report.summary()


def test_too_long_first_exchange_is_rejected_with_counts(tmp_path: Path) -> None:
    path = write(tmp_path / "q.jsonl", [line("x" * 500, "y"), line()])
    report = _check(path, count_tokens=count_chars, max_tokens=100)
    problem = report.problems[0]
    assert problem.level == "tokens" and problem.line == 1
    assert "over the limit of 100" in problem.reason and problem.reason.split()[0].isdigit()


def test_too_long_reject_and_keep_policies(tmp_path: Path) -> None:
    path = write(tmp_path / "q.jsonl", [_multi_turn(4, 40), line()])
    rejected = _check(path, count_tokens=count_chars, max_tokens=120, policy=QuestPolicy(too_long="reject"))
    assert rejected.valid_lines == (2,)
    kept = _check(path, count_tokens=count_chars, max_tokens=120, policy=QuestPolicy(too_long="keep"))
    assert kept.ok and not kept.truncated_lines and kept.tokens.over_limit == 1


def test_policy_max_tokens_overrides_the_hero(tmp_path: Path) -> None:
    path = write(tmp_path / "q.jsonl", [line("x" * 200, "y")])
    assert _check(path, count_tokens=count_chars, max_tokens=1000).ok
    strict = QuestPolicy(max_tokens=50, too_long="reject")
    assert not _check(path, count_tokens=count_chars, max_tokens=1000, policy=strict).usable


def test_token_counters() -> None:
    assert count_chars("①⓪①") == 3
    assert estimate_tokens("abcdef") == 2 and estimate_tokens("①⓪") == 2

    class Model:
        builder = "nano"

    class Hero:
        model = Model()

    assert counter_for(Hero()) is count_chars and counter_for(None) is estimate_tokens


def test_check_example_public_contract() -> None:
    assert check_example(example()) is None
    assert check_example({"messages": [{"role": "user", "content": "hi"}]}) is not None
