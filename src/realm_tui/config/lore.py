"""The Lore (`realm_tui/config/lore.yaml`): every game term the realm shows, with an icon, a label,
a one-line tooltip and a longer text.

The table is package data, not a realm config: `realm lore` works outside a realm and every realm
speaks the same vocabulary. It is read with the same safe loader as the configs, so a duplicate
key is refused with the file and the key named (plain YAML loaders keep the last one silently).
"""

from __future__ import annotations

import difflib
import re
from functools import cache
from pathlib import Path

from pydantic import Field, field_validator

from realm_tui.config.loader import ExactModel, load_model

LORE_FILE = Path(__file__).with_name("lore.yaml")
TOOLTIP_MAX = 100
"""A tooltip is one short line; the longer story goes into `text`."""


class LoreEntry(ExactModel):
    """One term: how it looks, what it says on hover, and what `?` explains."""

    icon: str = Field(min_length=1, max_length=4)
    label: str = Field(min_length=1, max_length=40)
    """The term as the screens spell it."""
    tooltip: str = Field(min_length=1, max_length=TOOLTIP_MAX)
    text: str = Field(min_length=1)
    """The longer explanation (`realm lore TERM`, `?` on a focused term)."""
    aliases: list[str] = Field(default_factory=list)
    """Other spellings shown on screen (`ATK` for attack, `maxed_out` for maxed out)."""

    @field_validator("tooltip")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if "\n" in value.strip():
            raise ValueError("a tooltip is one line; put the rest in text")
        return value.strip()

    def names(self) -> list[str]:
        return [self.label, *self.aliases]


class LoreBook(ExactModel):
    """The whole table, keyed `group.term` (`zone.recovery`, `stat.atk`)."""

    terms: dict[str, LoreEntry] = Field(min_length=1)

    @field_validator("terms")
    @classmethod
    def _keys(cls, value: dict[str, LoreEntry]) -> dict[str, LoreEntry]:
        bad = [k for k in value if not re.fullmatch(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)*", k)]
        if bad:
            raise ValueError(f"keys are lowercase words joined by dots: {', '.join(bad)}")
        return value

    def _index(self) -> dict[str, list[str]]:
        """Every spelling (normalised) -> the keys it names, keys first, then labels and aliases."""
        known = _INDEXES.get(id(self))
        if known is not None and known[0] is self:  # built once per book (screens ask many times)
            return known[1]
        index: dict[str, list[str]] = {}
        for key, entry in self.terms.items():
            for name in (key, key.rsplit(".", 1)[-1], *entry.names()):
                keys = index.setdefault(normalise(name), [])
                if key not in keys:
                    keys.append(key)
        _INDEXES[id(self)] = (self, index)
        return index

    def find(self, term: str) -> list[str]:
        """The keys a term names: an exact key, else every entry whose key tail, label or alias
        matches (case, `_` and `-` ignored). Empty when none does."""
        if term in self.terms:
            return [term]
        return list(self._index().get(normalise(term), []))

    def close_to(self, term: str, n: int = 5) -> list[str]:
        """Spellings that look like `term`, for an unknown-term message."""
        return difflib.get_close_matches(normalise(term), list(self._index()), n=n, cutoff=0.6)

    def terms_in(self, text: str) -> list[str]:
        """The keys of every label or alias that occurs whole-word in `text`, first seen first."""
        found: list[str] = []
        for match in _matcher(self).finditer(text):
            for key in self.find(match.group(0)):
                if key not in found:
                    found.append(key)
        return found


def normalise(term: str) -> str:
    return " ".join(term.replace("_", " ").replace("-", " ").casefold().split())


_MATCHERS: dict[int, tuple[LoreBook, re.Pattern[str]]] = {}
_INDEXES: dict[int, tuple[LoreBook, dict[str, list[str]]]] = {}


def _matcher(book: LoreBook) -> re.Pattern[str]:
    """One regex over every label and alias, longest first, whole words only (cached per book)."""
    known = _MATCHERS.get(id(book))
    if known is not None and known[0] is book:  # the book is kept alive, so its id is not reused
        return known[1]
    names = sorted({n for e in book.terms.values() for n in e.names()}, key=len, reverse=True)
    alternatives = "|".join(re.escape(n).replace(r"\ ", r"[ _-]") for n in names)
    pattern = re.compile(rf"(?<![\w])(?:{alternatives})(?![\w])", re.IGNORECASE)
    _MATCHERS[id(book)] = (book, pattern)
    return pattern


def load_lore(path: Path = LORE_FILE) -> LoreBook:
    """Read a lore table; any problem (a duplicate key too) is one `ConfigError` naming the file."""
    return load_model(path, LoreBook)


@cache
def lore() -> LoreBook:
    """The shipped lore table, read once."""
    return load_lore()
