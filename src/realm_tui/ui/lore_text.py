"""Game terms on screen, explained: tooltips from the Lore (`config/lore.yaml`) and `?` for the
longer text.

`LoreStatic` is a drop-in `Static` for text that shows game terms: its tooltip lists the terms its
text holds (found by label or alias, whole words), and `?` while it has the focus (Tab, or a
click) opens `LoreModal` with their longer texts. `attach_lore(widget, *keys)` gives any other
widget (a table, a badge) the tooltip of the named entries. Screens keep their own layout: they
only swap `Static` for `LoreStatic` where terms are rendered.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.visual import VisualType
from textual.widget import Widget
from textual.widgets import Label, Static

from realm_tui.config.lore import LoreBook, lore
from realm_tui.ui.keys import LORE_BINDINGS, LORE_TERM_BINDINGS
from realm_tui.ui.literal import escape

TOOLTIP_TERMS = 8
"""At most this many terms in one tooltip: more would cover the screen."""


def tooltip_for(keys: Iterable[str], book: LoreBook | None = None) -> str | None:
    """`icon label — tooltip`, one line per term; None without terms."""
    book = book or lore()
    shown = [book.terms[k] for k in list(keys)[:TOOLTIP_TERMS] if k in book.terms]
    lines = [f"{e.icon} {e.label} — {e.tooltip}" for e in shown]
    return "\n".join(lines) + "\n(? on a focused term: more)" if lines else None


def attach_lore(widget: Widget, *keys: str) -> Widget:
    """Give `widget` the tooltip of these lore entries; `?` on it explains them when it is a
    `LoreStatic`. Returns the widget (for `yield attach_lore(DataTable(...), "blessing")`)."""
    widget.tooltip = tooltip_for(keys)
    widget.lore_keys = list(keys)  # type: ignore[attr-defined]
    return widget


def term_label(key: str, text: str | None = None, **kwargs: Any) -> Label:
    """A label for one lore term: its text (default: the entry's label) with the tooltip."""
    entry = lore().terms[key]
    label = Label(escape(text if text is not None else entry.label), **kwargs)
    attach_lore(label, key)
    return label


_TAGS = re.compile(r"(?<!\\)\[[^\[\]\n]*\]")
_DIGITS = re.compile(r"[0-9]+")


def _plain(content: VisualType) -> str:
    """The words of a widget's content: markup tags (`[b $error]`) are not terms."""
    if isinstance(content, Content):
        return content.plain
    return _TAGS.sub("", content) if isinstance(content, str) else str(content)


class LoreStatic(Static):
    """A `Static` whose tooltip explains the game terms in its text; `?` when focused opens them."""

    DEFAULT_CSS = """
    LoreStatic:focus { background: $boost; }
    """
    BINDINGS = LORE_TERM_BINDINGS
    can_focus = True
    lore_keys: list[str]

    def __init__(self, content: VisualType = "", *args: Any, **kwargs: Any) -> None:
        super().__init__(content, *args, **kwargs)
        self._lore_text: str | None = None
        self.lore_keys = []
        self._retip(content)

    def allow_focus(self) -> bool:
        # Tab and clicks reach a term; a screen's first focus does not (it goes where it went before
        # the terms could take focus: a table, a log, a form).
        return self.can_focus and self.is_attached and self.screen.focused is not None

    def update(self, content: VisualType = "", *, layout: bool = True) -> None:
        super().update(content, layout=layout)
        self._retip(content)

    def _retip(self, content: VisualType) -> None:
        text = _plain(content)
        key = _DIGITS.sub("", text)  # no term holds a digit: a new step number finds the same terms
        if key == self._lore_text:
            return  # live fields update a few times a second; the terms rarely change
        self._lore_text = key
        self.lore_keys = lore().terms_in(text)
        self.tooltip = tooltip_for(self.lore_keys)

    def action_explain(self) -> None:
        if self.lore_keys:
            self.app.push_screen(LoreModal(self.lore_keys))
        else:
            self.app.action_help()  # type: ignore[attr-defined]  # no term here: `?` is the key list


class LoreModal(ModalScreen[None]):
    """The longer text of some lore entries (Esc, ? or q closes)."""

    BINDINGS = LORE_BINDINGS

    def __init__(self, keys: Iterable[str]) -> None:
        super().__init__()
        self.keys = list(keys)

    def compose(self) -> ComposeResult:
        book = lore()
        parts = []
        for key in self.keys:
            e = book.terms[key]
            head = f"{e.icon} [b]{escape(e.label)}[/] [dim]({key})[/]"
            parts.append(f"{head}\n[i]{escape(e.tooltip)}[/]\n{escape(e.text)}")
        with Vertical(id="lore", classes="dialog"):
            yield Label("[b]Lore[/]  (Esc or ? closes)")
            with VerticalScroll(id="lore-texts"):
                yield Static("\n\n".join(parts), id="lore-text")
