"""The hero's answers after each eval, for the headless faces: plain lines and JSON objects.

The samples are the real eval's own answers (`EvalResult.results`, as the trainer judged them),
picked by `rules.answers` (wrong first, a few per eval, texts cut short): the Battle screen, the
Guild and TensorBoard show the same ones.
"""

from __future__ import annotations

from typing import Any

from realm_tui.contract.protocol import EvalResult
from realm_tui.rules.answers import EvalAnswers, eval_answers, sample_line


def answers_of(event: EvalResult) -> EvalAnswers:
    """The samples to show of one eval."""
    return eval_answers(event.skill, event.level, event.step, event.accuracy, event.results, total=event.total)


def judged_lines(event: EvalResult) -> list[tuple[bool, str]]:
    """One (right?, line) per sample: `   ↳ bin L1 ✗ 101+1= → 11 (expected 110)`."""
    return [(s.correct, f"   ↳ {event.skill} L{event.level} {sample_line(s)}") for s in answers_of(event).samples]


def answer_lines(event: EvalResult) -> list[str]:
    """One plain line per sample (see `judged_lines`)."""
    return [line for _right, line in judged_lines(event)]


def answer_records(event: EvalResult) -> list[dict[str, Any]]:
    """One JSON object per sample (`{"event": "Answer", ...}`), for the headless JSON stream."""
    return [
        {
            "event": "Answer",
            "skill": event.skill,
            "level": event.level,
            "step": event.step,
            "correct": s.correct,
            "prompt": s.prompt,
            "expected": s.expected,
            "got": s.got,
        }
        for s in answers_of(event).samples
    ]
