"""The hero's answers worth showing: a few of an eval's answers beside the expected ones, wrong first.

An eval judges dozens of problems; a person reads three. Wrong answers are the interesting ones
(what the hero gets wrong is what the next battles are for), so they come first; right ones fill
the rest, so a perfect eval still shows what the hero says. Texts are cut short, so a line per
answer stays a line. Every face (the Battle screen, the headless lines, the JSON stream, the
Guild, TensorBoard) picks its samples here, so they all show the same answers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SHOWN_PER_EVAL = 3
"""Answers shown per skill after each eval (the Battle screen, headless output)."""
KEPT_PER_LEVEL = 5
"""Answers the Guild shows per skill level (from that level's latest evals)."""
TEXT_CHARS = 60
"""Longest prompt / expected / got text of a sample (characters, after spaces are squeezed)."""


@dataclass(frozen=True)
class AnswerSample:
    """One judged answer: the problem, what was expected, what the hero said."""

    prompt: str
    expected: str
    got: str
    correct: bool


@dataclass(frozen=True)
class EvalAnswers:
    """The samples of one eval of a skill at a level."""

    skill: str
    level: int
    step: int
    accuracy: float
    total: int
    samples: tuple[AnswerSample, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.skill.upper()} L{self.level}"


def clip(value: object, width: int = TEXT_CHARS) -> str:
    """`value` as one line (runs of spaces and newlines squeezed), cut to `width` with an ellipsis."""
    text = " ".join(str(value).split())
    return text if len(text) <= width else text[: max(1, width - 1)] + "…"


def sample_of(result: Mapping[str, Any], width: int = TEXT_CHARS) -> AnswerSample:
    """An eval's per-problem result (`prompt`, `expected`, `got`, `correct`) as a short sample."""
    return AnswerSample(
        prompt=clip(result.get("prompt", ""), width),
        expected=clip(result.get("expected", ""), width),
        got=clip(result.get("got", result.get("answer", "")), width),
        correct=bool(result.get("correct")),
    )


def pick_results(results: Iterable[Mapping[str, Any]], limit: int = SHOWN_PER_EVAL) -> list[Mapping[str, Any]]:
    """At most `limit` of `results`: the wrong ones first, then the right ones, each in eval order."""
    if limit <= 0:
        return []
    wrong: list[Mapping[str, Any]] = []
    right: list[Mapping[str, Any]] = []
    for result in results:
        (right if result.get("correct") else wrong).append(result)
        if len(wrong) >= limit:
            break  # enough wrong answers: nothing right would be shown
    return (wrong + right)[:limit]


def choose_samples(
    results: Iterable[Mapping[str, Any]], limit: int = SHOWN_PER_EVAL, width: int = TEXT_CHARS
) -> tuple[AnswerSample, ...]:
    """The samples to show of an eval: wrong first, at most `limit`, texts cut to `width`."""
    return tuple(sample_of(r, width) for r in pick_results(results, limit))


def eval_answers(
    skill: str,
    level: int,
    step: int,
    accuracy: float,
    results: Sequence[Mapping[str, Any]],
    *,
    total: int | None = None,
    limit: int = SHOWN_PER_EVAL,
) -> EvalAnswers:
    """One eval's samples (`total`: problems judged, default the results given)."""
    return EvalAnswers(
        skill, level, step, accuracy, len(results) if total is None else total, choose_samples(results, limit)
    )


def sample_line(sample: AnswerSample) -> str:
    """`✗ 3+4= → 8 (expected 7)` or `✓ 3+4= → 7`: one answer, one line."""
    if sample.correct:
        return f"✓ {sample.prompt} → {sample.got or '∅'}"
    return f"✗ {sample.prompt} → {sample.got or '∅'} (expected {sample.expected})"
