"""A hero's text shown in Textual markup stays as it is: half-written JSON (an unmatched `[`),
tag-shaped text and a trailing backslash never swallow the markup around them."""

from __future__ import annotations

import pytest
from textual.markup import to_content

from realm_tui.rules.answers import AnswerSample, EvalAnswers
from realm_tui.ui.literal import escape
from realm_tui.ui.widgets.answers import answers_markup

TEXTS = ['{"words":[{"syllables":["wo', "a[b", "x[red]y", "q[/]r", "ends with \\", "a\\[b]", "plain"]


@pytest.mark.parametrize("text", TEXTS)
def test_text_between_tags_shows_as_it_is(text: str) -> None:
    plain = to_content(f"[red]{escape(text)}[/] after").plain
    assert plain.replace("\u200b", "") == f"{text} after"


def test_a_cut_sy_answer_leaks_no_markup_into_the_answers_panel() -> None:
    got = '{"words":[{"sylables":["word","word":":" … (stopped here: c…'
    sample = AnswerSample(prompt="Split: cat", expected='{"words":[["cat"]]}', got=got, correct=False)
    shown = to_content(answers_markup([EvalAnswers("sy", 1, 450, 0.1, 16, (sample,))])).plain
    assert "[/]" not in shown and got in shown and 'expected {"words":[["cat"]]}' in shown, shown
