"""The SY word data shipped in `skills/data/`: curated words with syllable tiles, Zipf frequency
and clues, plus a larger plain lexicon used to prove that a puzzle has only one solution.

Both files are made by `data/build_words.py`; reading them needs no extra package."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

CLUE_TIERS = (1, 2, 3, 4)
"""1 definition/synonym, 2 hypernym/example, 3 domain/antonym/related form, 4 first letter and
length ("starts with P; length 6")."""


@dataclass(frozen=True)
class Word:
    """One answer word: upper-case text, its syllable tiles, Zipf frequency and curated clues."""

    text: str
    syllables: tuple[str, ...]
    zipf: float
    clues: tuple[str, str, str]
    """Curated clues of tiers 1-3 ("" where none was written)."""

    def clue(self, tier: int) -> str:
        """The clue of `tier`, or "" when the data has none at that tier (tier 4 always exists)."""
        if tier == 4:
            return f"starts with {self.text[0]}; length {len(self.text)}"
        if tier not in (1, 2, 3):
            raise ValueError(f"clue tiers are 1-4, not {tier}")
        return self.clues[tier - 1]

    def clue_at_least(self, tier: int) -> tuple[int, str]:
        """The clue of `tier`, or of the next weaker tier that exists (never a stronger one)."""
        for t in range(tier, 5):
            text = self.clue(t)
            if text:
                return t, text
        raise AssertionError("tier 4 always exists")


def _data_text(name: str) -> str:
    return resources.files("realm_tui.skills").joinpath("data", name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def load_words() -> tuple[Word, ...]:
    """Every curated word, in file (alphabetical) order."""
    out: list[Word] = []
    for line in _data_text("sy_words.tsv").splitlines()[1:]:
        if not line.strip():
            continue
        text, syllables, zipf, c1, c2, c3 = line.split("\t")
        out.append(Word(text, tuple(syllables.split("-")), float(zipf), (c1, c2, c3)))
    return tuple(out)


@lru_cache(maxsize=1)
def lexicon_by_shape() -> dict[tuple[str, int], tuple[str, ...]]:
    """Known English words (upper case) grouped by (first letter, length)."""
    groups: dict[tuple[str, int], list[str]] = defaultdict(list)
    for line in _data_text("sy_lexicon.txt").splitlines():
        word = line.strip()
        if word:
            groups[(word[0], len(word))].append(word)
    return {k: tuple(v) for k, v in groups.items()}


@lru_cache(maxsize=1)
def words_by_clue() -> dict[str, tuple[str, ...]]:
    """Every curated clue text (tiers 1-3) and the words it is written for: several words share
    some texts (`related: collaborate` is COLLABORATION's clue and COLLABORATIVE's), so a clue
    alone does not always name one word."""
    out: dict[str, list[str]] = defaultdict(list)
    for w in load_words():
        for text in w.clues:
            if text and w.text not in out[text]:
                out[text].append(w.text)
    return {k: tuple(v) for k, v in out.items()}


@lru_cache(maxsize=1)
def names_by_shape() -> dict[tuple[str, int], tuple[str, ...]]:
    """Every known word (lexicon and curated words) by (first letter, length): what a tier-4
    clue ("starts with P; length 6") admits."""
    groups: dict[tuple[str, int], dict[str, None]] = defaultdict(dict)
    for key, names in lexicon_by_shape().items():
        groups[key].update(dict.fromkeys(names))
    for w in load_words():
        groups[(w.text[0], len(w.text))][w.text] = None
    return {k: tuple(v) for k, v in groups.items()}


def tile_index(tiles: set[str] | list[str]) -> dict[str, tuple[str, ...]]:
    """Distinct tile texts grouped by first letter (for `segmentations`)."""
    by_first: dict[str, list[str]] = defaultdict(list)
    for t in sorted(set(tiles)):
        by_first[t[0]].append(t)
    return {k: tuple(v) for k, v in by_first.items()}


def segmentations(
    word: str, parts: int, by_first: dict[str, tuple[str, ...]], limit: int | None = None
) -> list[tuple[str, ...]]:
    """Ways to spell `word` with exactly `parts` tiles from `by_first` (see `tile_index`; how
    many copies of each tile exist is checked by the caller): all of them, or the first `limit`.
    A uniqueness check needs all: the first splits may need tiles the bank lacks while a later
    one fits."""
    found: list[tuple[str, ...]] = []

    def walk(pos: int, chosen: list[str]) -> None:
        if limit is not None and len(found) >= limit:
            return
        if pos == len(word):
            if len(chosen) == parts:
                found.append(tuple(chosen))
            return
        if len(chosen) == parts:
            return
        for t in by_first.get(word[pos], ()):
            if word.startswith(t, pos):
                chosen.append(t)
                walk(pos + len(t), chosen)
                chosen.pop()

    walk(0, [])
    return found
