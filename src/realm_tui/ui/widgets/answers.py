"""The hero's answers: a few answers of each skill's latest eval beside the expected ones, marked
right or wrong, wrong ones first (`rules.answers` picks them). The Battle screen shows the live
battle's; the Guild the last few of each level."""

from __future__ import annotations

from collections.abc import Sequence

from textual.markup import escape
from textual.widgets import Static

from realm_tui.rules.answers import AnswerSample, EvalAnswers

EMPTY = "[dim]The hero's answers show after its first eval (each skill is evaluated every few dozen steps).[/]"


def sample_markup(sample: AnswerSample) -> str:
    """`✗ 3+4= → 8  expected 7` in colour (a right answer: `✓ 3+4= → 7`)."""
    got = escape(sample.got) if sample.got else "[dim]∅[/]"
    if sample.correct:
        return f"[$success]✓[/] {escape(sample.prompt)} → [$success]{got}[/]"
    return f"[$error]✗[/] {escape(sample.prompt)} → [$error]{got}[/]  [dim]expected[/] {escape(sample.expected)}"


def answers_markup(sets: Sequence[EvalAnswers], empty: str = EMPTY) -> str:
    """A heading per eval (skill, level, step, accuracy), then a line per sample."""
    if not sets:
        return empty
    lines: list[str] = []
    for s in sets:
        wrong = sum(not a.correct for a in s.samples)
        lines.append(
            f"[b]{escape(s.label)}[/] [dim]at step {s.step}: {s.accuracy:.0%} of {s.total}"
            f"{f' · {wrong} wrong shown' if wrong else ''}[/]"
        )
        lines += [f"  {sample_markup(a)}" for a in s.samples]
    return "\n".join(lines)


class AnswersPanel(Static):
    """The hero's latest answers per skill; redrawn only when an eval brought new ones."""

    DEFAULT_CSS = """
    AnswersPanel { height: auto; max-height: 10; padding: 0 1; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(EMPTY, **kwargs)  # type: ignore[arg-type]
        self.shown: tuple[EvalAnswers, ...] = ()

    def show(self, sets: Sequence[EvalAnswers]) -> None:
        if tuple(sets) == self.shown:
            return  # no new eval: no re-layout
        self.shown = tuple(sets)
        self.update(answers_markup(self.shown))
