"""The hero's answers: a few answers of each skill's latest eval beside the expected ones, marked
right or wrong, wrong ones first (`rules.answers` picks them). The Battle screen shows the live
battle's; the Guild the last few of each level."""

from __future__ import annotations

from collections.abc import Sequence

from textual.widgets import Static

from realm_tui.rules.answers import AnswerSample, EvalAnswers
from realm_tui.ui.literal import escape

EMPTY = "[dim]The hero's answers show after its first eval (each skill is evaluated every few dozen steps).[/]"


def sample_markup(sample: AnswerSample) -> str:
    """`✗ 3+4= → 8  expected 7` in colour (a right answer: `✓ 3+4= → 7`)."""
    got = escape(sample.got) if sample.got else "[dim]∅[/]"
    if sample.correct:
        return f"[$success]✓[/] {escape(sample.prompt)} → [$success]{got}[/]"
    return f"[$error]✗[/] {escape(sample.prompt)} → [$error]{got}[/]  [dim]expected[/] {escape(sample.expected)}"


def answers_markup(sets: Sequence[EvalAnswers], empty: str = EMPTY, per_skill: int | None = None) -> str:
    """A heading per eval (skill, level, step, accuracy), then a line per sample (at most
    `per_skill` of them, wrong ones first as `rules.answers` ordered them)."""
    if not sets:
        return empty
    lines: list[str] = []
    for s in sets:
        samples = s.samples if per_skill is None else s.samples[:per_skill]
        wrong = sum(not a.correct for a in samples)
        lines.append(
            f"[b]{escape(s.label)}[/] [dim]at step {s.step}: {s.accuracy:.0%} of {s.total}"
            f"{f' · {wrong} wrong shown' if wrong else ''}[/]"
        )
        lines += [f"  {sample_markup(a)}" for a in samples]
    return "\n".join(lines)


class AnswersPanel(Static):
    """The hero's latest answers per skill; redrawn only when an eval brought new ones or the
    panel's height changed (a short panel shows fewer answers of each skill, never fewer skills)."""

    DEFAULT_CSS = """
    AnswersPanel { height: auto; max-height: 10; padding: 0 1; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(EMPTY, **kwargs)  # type: ignore[arg-type]
        self.shown: tuple[EvalAnswers, ...] = ()
        self._drawn: tuple[tuple[EvalAnswers, ...], int | None] | None = None

    def show(self, sets: Sequence[EvalAnswers]) -> None:
        self.shown = tuple(sets)
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def _per_skill(self) -> int | None:
        rows = self.content_region.height
        if rows <= 0 or not self.shown:
            return None  # not laid out yet: the first resize draws it to fit
        return max(1, rows // len(self.shown) - 1)  # each skill: its heading, then its answers

    def _draw(self) -> None:
        key = (self.shown, self._per_skill())
        if key == self._drawn:
            return  # no new eval and the same room: no re-layout
        self._drawn = key
        self.update(answers_markup(self.shown, per_skill=key[1]))
