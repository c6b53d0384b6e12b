from __future__ import annotations

import json
from pathlib import Path

import pytest

from realm_tui.errors import InputError
from realm_tui.quests.validate import require_valid_quest, validate_quest_file


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


GOOD = json.dumps({"messages": [{"role": "user", "content": "①+①"}, {"role": "assistant", "content": "①⓪"}]})


def test_good_file(tmp_path: Path) -> None:
    report = validate_quest_file(_write(tmp_path / "q.jsonl", [GOOD, "", GOOD]))
    assert report.ok and report.valid_lines == (1, 3) and report.blank_lines == 1


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("{not json", "bad JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"text": "hi"}', 'missing "messages"'),
        ('{"messages": []}', "non-empty list"),
        ('{"messages": [{"role": "user", "content": "hi"}]}', "no assistant turn"),
        ('{"messages": [{"role": "wizard", "content": "hi"}]}', "role is 'wizard'"),
        ('{"messages": [{"role": "assistant", "content": 3}]}', "content must be a string"),
        ('{"messages": [{"role": "assistant", "content": "  "}]}', "no assistant turn"),
    ],
)
def test_bad_lines_are_reported_with_file_and_line(tmp_path: Path, line: str, reason: str) -> None:
    path = _write(tmp_path / "q.jsonl", [GOOD, line])
    report = validate_quest_file(path)
    assert not report.ok
    assert [(p.line, reason in p.reason) for p in report.problems] == [(2, True)]
    with pytest.raises(InputError) as err:
        require_valid_quest(path)
    assert f"{path}:2: " in str(err.value)


def test_non_utf8_line(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_bytes(GOOD.encode() + b"\n\xff\xfe\n")
    report = validate_quest_file(path)
    assert report.problems[0].line == 2 and "UTF-8" in report.problems[0].reason


def test_missing_file_and_empty_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        validate_quest_file(tmp_path / "nope.jsonl")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert not validate_quest_file(empty).ok
    assert "empty" in validate_quest_file(empty).summary()
