"""Validation of chat JSONL quests: every bad line is reported as file:line and reason.

Three levels, in order, for every line:

- **schema**: UTF-8, valid JSON (no NaN/Infinity), an object with a non-empty `messages` list of
  `{role, content}` objects (roles system/user/assistant, string contents), at least one
  assistant turn with content, and the roles in order (an optional leading system turn, then user
  and assistant alternating, the assistant's last);
- **content**: no empty assistant turn, no looping (degenerate) answer, no exact duplicate of an
  earlier line;
- **tokens**: the templated example fits the hero's max length (`QuestPolicy.too_long` says
  whether a longer one is truncated, rejected or kept).

`validate_quest_file(..., levels=LEVELS, clean_to=PATH)` also writes the accepted lines (truncated where needed)
to PATH in the same pass, so invalid lines never reach training. The file itself is only read.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from realm_tui.errors import InputError
from realm_tui.paths import RealmPaths
from realm_tui.quests.content import content_reason, example_key
from realm_tui.quests.policy import QuestPolicy, load_quest_policy
from realm_tui.quests.tokens import TokenCounter, counter_for, estimate_tokens, example_tokens, fit_prefix

ROLES = frozenset({"system", "user", "assistant"})
MAX_QUEST_BYTES = 2_000_000_000
"""A quest is streamed line by line; this only guards against a wrong path (a disk image, say)."""
MAX_LISTED_PROBLEMS = 10_000
"""Problems kept in a report; further ones are only counted (`omitted_problems`)."""

Level = Literal["schema", "content", "tokens"]
LEVELS: tuple[Level, ...] = ("schema", "content", "tokens")
SCHEMA_ONLY: tuple[Level, ...] = ("schema",)


@dataclass(frozen=True)
class LineProblem:
    line: int
    reason: str
    level: Level = "schema"


@dataclass(frozen=True)
class TokenStats:
    """Token counts of the accepted examples (after truncation)."""

    limit: int | None = None
    counted: int = 0
    total: int = 0
    longest: int = 0
    longest_line: int = 0
    over_limit: int = 0
    """Examples over the limit (truncated, rejected or kept, per the policy)."""

    @property
    def mean(self) -> float:
        return self.total / self.counted if self.counted else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "limit": self.limit,
            "counted": self.counted,
            "total": self.total,
            "mean": round(self.mean, 1),
            "longest": self.longest,
            "longest_line": self.longest_line,
            "over_limit": self.over_limit,
        }


@dataclass(frozen=True)
class QuestReport:
    """What validation found in one quest file."""

    path: Path
    valid_lines: tuple[int, ...] = ()
    problems: tuple[LineProblem, ...] = ()
    blank_lines: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    truncated_lines: tuple[int, ...] = ()
    tokens: TokenStats | None = None
    omitted_problems: int = 0

    @property
    def ok(self) -> bool:
        """Every non-blank line is a usable example."""
        return bool(self.valid_lines) and not self.problems

    @property
    def usable(self) -> bool:
        """At least one line can be trained on."""
        return bool(self.valid_lines)

    @property
    def problem_count(self) -> int:
        return len(self.problems) + self.omitted_problems

    @property
    def changed(self) -> bool:
        """The trainable lines differ from the file: some were dropped or truncated."""
        return bool(self.problems or self.omitted_problems or self.truncated_lines)

    def counts_by_level(self) -> dict[str, int]:
        counts: dict[str, int] = {level: 0 for level in LEVELS}
        for problem in self.problems:
            counts[problem.level] += 1
        return counts

    def summary(self, limit: int = 5) -> str:
        """One block of text: the verdict, then up to `limit` problems as file:line: reason."""
        tail = []
        if self.truncated_lines and self.tokens is not None:
            tail.append(f"  {len(self.truncated_lines)} example(s) truncated to fit {self.tokens.limit} tokens")
        if self.ok:
            return "\n".join([f"{self.path}: {len(self.valid_lines)} valid example(s)", *tail])
        if not self.valid_lines and not self.problems:
            return f"{self.path}: no examples (the file is empty)"
        head = (
            f"{self.path}: {self.problem_count} invalid line(s), {len(self.valid_lines)} valid"
            if self.problems
            else f"{self.path}: no valid example"
        )
        lines = [head]
        lines += [f"  {self.path}:{p.line}: {p.reason}" for p in self.problems[:limit]]
        if self.problem_count > limit:
            lines.append(f"  … and {self.problem_count - limit} more")
        return "\n".join(lines + tail)

    def to_dict(self, listed: int = 50) -> dict[str, Any]:
        """JSON-ready counts and the first `listed` problems, for a store record."""
        return {
            "file": str(self.path),
            "valid": len(self.valid_lines),
            "invalid": self.problem_count,
            "blank": self.blank_lines,
            "truncated": len(self.truncated_lines),
            "by_level": self.counts_by_level(),
            "tokens": self.tokens.to_dict() if self.tokens is not None else None,
            "problems": [[p.line, p.level, p.reason] for p in self.problems[:listed]],
        }


def problem_text(path: str | Path, line: int, reason: str, level: str) -> str:
    """One rejected line as every place shows it: `realm quest validate`, the report kept in
    `failed/` and the Quest Board's details (`file:line: reason [level]`)."""
    return f"{path}:{line}: {reason} [{level}]"


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
        if not isinstance(role, str) or role not in ROLES:
            return f"messages[{i}].role is {role!r}; expected one of system, user, assistant"
        if not isinstance(content, str):
            return f"messages[{i}].content must be a string"
        try:
            content.encode("utf-8")
        except UnicodeEncodeError:
            return f"messages[{i}].content holds an unpaired surrogate escape (not text)"
        if role == "assistant" and content.strip():
            has_answer = True
    if not has_answer:
        return "no assistant turn with content (nothing to learn from)"
    return role_order_reason([m["role"] for m in messages])


def role_order_reason(roles: list[str]) -> str | None:
    """Why the turns are out of order, or None: after an optional leading system turn, user and
    assistant alternate, starting with the user and ending with the assistant (what a chat
    template expects; anything else trains the hero on a conversation that never happens)."""
    start = 1 if roles and roles[0] == "system" else 0
    expected = "user"
    for i in range(start, len(roles)):
        role = roles[i]
        if role != expected:
            if role == "system":
                return f"messages[{i}].role is system; a system turn may only come first"
            if i == start:
                return f"messages[{i}].role is {role}; the conversation must start with a user turn"
            return f"messages[{i}].role is {role} after a {roles[i - 1]} turn; user and assistant must alternate"
        expected = "assistant" if role == "user" else "user"
    if start == len(roles):
        return "only a system turn (nothing to learn from)"
    if roles[-1] != "assistant":
        return f"messages[{len(roles) - 1}].role is {roles[-1]}; the last turn must be the assistant's"
    return None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_line(text: str) -> tuple[Any, str | None]:
    """Parse one JSONL line strictly: (value, None) or (None, reason)."""
    try:
        return json.loads(text, parse_constant=_refuse_constant), None
    except json.JSONDecodeError as err:
        return None, f"bad JSON: {err.msg} at column {err.colno}"
    except ValueError as err:  # NaN/Infinity, or an integer with too many digits
        return None, f"bad JSON: {err}"
    except RecursionError:
        return None, "bad JSON: nested too deeply"


@dataclass
class _Verdict:
    problem: LineProblem | None = None
    output: bytes | None = None
    tokens: int = 0
    over_limit: bool = False
    truncated: bool = False


class QuestChecker:
    """Checks lines one by one; remembers what it saw (for duplicates) across one file."""

    def __init__(
        self,
        policy: QuestPolicy | None = None,
        count_tokens: TokenCounter | None = None,
        max_tokens: int | None = None,
        levels: Iterable[Level] = LEVELS,
    ) -> None:
        self.policy = policy or QuestPolicy()
        self.levels = frozenset(levels)
        self.count = count_tokens or estimate_tokens
        self.limit = self.policy.max_tokens or max_tokens
        self._seen: dict[bytes, int] = {}

    def check(self, number: int, text: str) -> _Verdict:
        """Judge one non-blank line of text (without checking its encoding)."""
        obj, reason = parse_line(text)
        if reason is None:
            reason = check_example(obj)
        if reason is not None:
            return _Verdict(LineProblem(number, reason, "schema"))
        messages: list[dict[str, Any]] = obj["messages"]
        if "content" in self.levels:
            reason = content_reason(messages, self.policy)
            if reason is not None:
                return _Verdict(LineProblem(number, reason, "content"))
        if "content" in self.levels and self.policy.reject_duplicates:
            key = example_key(messages)
            first = self._seen.setdefault(key, number)
            if first != number:
                return _Verdict(LineProblem(number, f"duplicate of line {first}", "content"))
        tokens = example_tokens(messages, self.count)
        if "tokens" not in self.levels or self.limit is None or tokens <= self.limit or self.policy.too_long == "keep":
            return _Verdict(tokens=tokens, over_limit=self.limit is not None and tokens > self.limit)
        over = f"{tokens} tokens, over the limit of {self.limit}"
        if self.policy.too_long == "reject":
            return _Verdict(LineProblem(number, over, "tokens"), over_limit=True)
        prefix = fit_prefix(messages, self.count, self.limit)
        if prefix is None:
            return _Verdict(LineProblem(number, f"{over} even cut after the first answer", "tokens"), over_limit=True)
        line = json.dumps({**obj, "messages": prefix}, ensure_ascii=False) + "\n"
        return _Verdict(
            output=line.encode("utf-8"),
            tokens=example_tokens(prefix, self.count),
            over_limit=True,
            truncated=True,
        )


def _read_lines(handle: IO[bytes], limit: int) -> Iterator[bytes | None]:
    """Lines of at most `limit` bytes; None stands for a longer line, which is skipped unread."""
    while True:
        line = handle.readline(limit + 1)
        if not line:
            return
        if len(line) > limit and not line.endswith(b"\n"):
            while True:
                more = handle.readline(1 << 20)
                if not more or more.endswith(b"\n"):
                    break
            yield None
        else:
            yield line


def validate_quest_file(
    path: Path,
    *,
    policy: QuestPolicy | None = None,
    count_tokens: TokenCounter | None = None,
    max_tokens: int | None = None,
    clean_to: Path | None = None,
    levels: Iterable[Level] = SCHEMA_ONLY,
) -> QuestReport:
    """Read `path` line by line; a missing or unreadable file raises InputError.

    `levels` chooses the checks: the schema only by default (what any trainer needs; the board
    and `realm quest validate` pass `LEVELS`). With `clean_to`, the accepted lines (unchanged
    bytes, or re-serialised when truncated) are written there as they are judged.
    """
    path = Path(path)
    if path.is_symlink() or not path.is_file():
        problem = "quest file not found" if not path.exists() else "not a regular file"
        raise InputError(path, "a link, not a regular file" if path.is_symlink() else problem)
    if path.stat().st_size > MAX_QUEST_BYTES:
        raise InputError(path, f"larger than {MAX_QUEST_BYTES:,} bytes; is this really a quest?")
    checker = QuestChecker(policy, count_tokens, max_tokens, levels)
    valid: list[int] = []
    truncated: list[int] = []
    problems: list[LineProblem] = []
    omitted = blanks = counted = total = longest = longest_line = over = 0
    try:
        with path.open("rb") as handle, _open_out(clean_to) as out:
            for number, raw in enumerate(_read_lines(handle, checker.policy.max_line_bytes), start=1):
                verdict = _judge(checker, number, raw)
                if verdict is None:
                    blanks += 1
                    continue
                over += verdict.over_limit
                if verdict.problem is not None:
                    if len(problems) < MAX_LISTED_PROBLEMS:
                        problems.append(verdict.problem)
                    else:
                        omitted += 1
                    continue
                valid.append(number)
                if verdict.truncated:
                    truncated.append(number)
                counted += 1
                total += verdict.tokens
                if verdict.tokens > longest:
                    longest, longest_line = verdict.tokens, number
                if out is not None:
                    out.write(verdict.output or _clean_raw(raw or b"", number))
    except OSError as err:
        raise InputError(path, f"cannot read: {err.strerror or err}") from None
    stats = TokenStats(checker.limit, counted, total, longest, longest_line, over)
    return QuestReport(
        path,
        tuple(valid),
        tuple(problems),
        blanks,
        tokens=stats,
        truncated_lines=tuple(truncated),
        omitted_problems=omitted,
    )


def _judge(checker: QuestChecker, number: int, raw: bytes | None) -> _Verdict | None:
    """The verdict on one raw line; None for a blank line."""
    if raw is None:
        limit = checker.policy.max_line_bytes
        return _Verdict(LineProblem(number, f"line longer than {limit:,} bytes (not read)", "schema"))
    try:
        text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
    except UnicodeDecodeError:
        return _Verdict(LineProblem(number, "not UTF-8 text", "schema"))
    if not text.strip():
        return None
    return checker.check(number, text)


def _clean_raw(raw: bytes, number: int) -> bytes:
    if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    return raw if raw.endswith(b"\n") else raw + b"\n"


class _NoOut:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _open_out(path: Path | None) -> Any:
    return _NoOut() if path is None else Path(path).open("wb")


def require_valid_quest(path: Path, **options: Any) -> QuestReport:
    """Validate and raise one InputError listing file:line problems when the quest is unusable."""
    report = validate_quest_file(path, **options)
    if not report.ok:
        raise InputError(None, "quest rejected before training:\n" + report.summary())
    return report


def require_trainable_quest(path: Path, realm: RealmPaths, hero: Any) -> QuestReport:
    """`realm train --quest FILE`: every check the board makes (schema, content, tokens), with the
    realm's policy (`configs/quests.yaml`) and the hero's (a HeroConfig) `max_length` and token
    counter.

    The file is refused unless every line is trained as written: it is the player's own file and
    stays untouched. The error lists file:line problems and says how to train the valid lines
    (`realm quest add FILE` queues them, leaving the invalid ones out, as the board does for a
    dropped file)."""
    report = validate_quest_file(
        path,
        policy=load_quest_policy(realm),
        count_tokens=counter_for(hero),
        max_tokens=hero.training_defaults.max_length,
        levels=LEVELS,
    )
    if report.ok and not report.changed:
        return report
    limit = report.tokens.limit if report.tokens is not None else None
    cut = f"; {len(report.truncated_lines)} example(s) over {limit} tokens" if report.truncated_lines else ""
    raise InputError(
        None,
        f"quest rejected before training (nothing was trained{cut}):\n{report.summary(limit=10)}\n"
        f"Fix the file, or queue its valid lines with `realm quest add {path}` "
        "(invalid lines are left out, long examples truncated) and train from the board.",
    )
