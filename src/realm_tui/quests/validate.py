"""Validation of chat JSONL quests: every bad line is reported as file:line and reason."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from realm_tui.errors import InputError

ROLES = frozenset({"system", "user", "assistant"})
MAX_QUEST_BYTES = 2_000_000_000
"""A quest is streamed line by line; this only guards against a wrong path (a disk image, say)."""


@dataclass(frozen=True)
class LineProblem:
    line: int
    reason: str


@dataclass(frozen=True)
class QuestReport:
    """What validation found in one quest file."""

    path: Path
    valid_lines: tuple[int, ...] = ()
    problems: tuple[LineProblem, ...] = ()
    blank_lines: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.valid_lines) and not self.problems

    def summary(self, limit: int = 5) -> str:
        """One block of text: the verdict, then up to `limit` problems as file:line: reason."""
        if self.ok:
            return f"{self.path}: {len(self.valid_lines)} valid example(s)"
        if not self.valid_lines and not self.problems:
            return f"{self.path}: no examples (the file is empty)"
        head = (
            f"{self.path}: {len(self.problems)} invalid line(s), {len(self.valid_lines)} valid"
            if self.problems
            else f"{self.path}: no valid example"
        )
        lines = [head]
        lines += [f"  {self.path}:{p.line}: {p.reason}" for p in self.problems[:limit]]
        if len(self.problems) > limit:
            lines.append(f"  … and {len(self.problems) - limit} more")
        return "\n".join(lines)


def check_example(obj: Any) -> str | None:
    """The reason a parsed line is not a usable chat example, or None when it is."""
    if not isinstance(obj, dict):
        return f"expected a JSON object, got {type(obj).__name__}"
    messages = obj.get("messages")
    if messages is None:
        return 'missing "messages"'
    if not isinstance(messages, list) or not messages:
        return '"messages" must be a non-empty list'
    has_answer = False
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            return f"messages[{i}] is not an object"
        role = message.get("role")
        content = message.get("content")
        if role not in ROLES:
            return f"messages[{i}].role is {role!r}; expected one of system, user, assistant"
        if not isinstance(content, str):
            return f"messages[{i}].content must be a string"
        if role == "assistant" and content.strip():
            has_answer = True
    if not has_answer:
        return "no assistant turn with content (nothing to learn from)"
    return None


def validate_quest_file(path: Path) -> QuestReport:
    """Read `path` line by line; a missing or unreadable file raises InputError."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "quest file not found" if not path.exists() else "not a regular file")
    if path.stat().st_size > MAX_QUEST_BYTES:
        raise InputError(path, f"larger than {MAX_QUEST_BYTES:,} bytes; is this really a quest?")
    valid: list[int] = []
    problems: list[LineProblem] = []
    blanks = 0
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                problems.append(LineProblem(number, "not UTF-8 text"))
                continue
            if not text.strip():
                blanks += 1
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as err:
                problems.append(LineProblem(number, f"bad JSON: {err.msg} at column {err.colno}"))
                continue
            reason = check_example(obj)
            if reason is None:
                valid.append(number)
            else:
                problems.append(LineProblem(number, reason))
    return QuestReport(path, tuple(valid), tuple(problems), blanks)


def require_valid_quest(path: Path) -> QuestReport:
    """Validate and raise one InputError listing file:line problems when the quest is unusable."""
    report = validate_quest_file(path)
    if not report.ok:
        raise InputError(None, "quest rejected before training:\n" + report.summary())
    return report
