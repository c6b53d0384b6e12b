"""SY: every level's puzzles are solvable from their own prompt, follow the level's dials, and the
dials never get easier as the level rises."""

from __future__ import annotations

import json
import math
import re
from collections import Counter

import pytest

from realm_tui.skills import get_skill
from realm_tui.skills.sy import SySkill, canonical_answer, parse_answer
from realm_tui.skills.words import Word, load_words

SY = get_skill("sy")
assert isinstance(SY, SySkill)
WORDS = {w.text: w for w in load_words()}
PER_LEVEL = 4


def read_prompt(prompt: str) -> tuple[list[str], list[tuple[str, int]]]:
    """(bank tiles, [(clue text, blanks)]) read back from the prompt text."""
    lines = prompt.split("\n")
    assert lines[2].startswith("Tiles: ")
    tiles = lines[2][len("Tiles: ") :].split(" ")
    clues = []
    for i, line in enumerate(lines[3:], 1):
        m = re.fullmatch(rf"{i}\. (.+): ((?:_ )*_)", line)
        assert m, line
        clues.append((m[1], m[2].count("_")))
    return tiles, clues


@pytest.mark.parametrize("level", range(1, 51))
def test_every_level_is_solvable_and_follows_its_dials(level: int) -> None:
    lv = SY.config.level(level)
    for p in SY.generate(level, PER_LEVEL, seed=500 + level):
        tiles, clues = read_prompt(p.prompt)
        answer = json.loads(p.expected)
        assert p.expected == json.dumps(answer, ensure_ascii=False, separators=(",", ":"))
        entries, unused = answer["words"], answer["unused"]
        assert len(entries) == len(clues) == lv.words
        # every non-herring tile is used exactly once, the herrings are exactly the rest
        used = Counter(s for e in entries for s in e["syllables"])
        assert used + Counter(unused) == Counter(tiles)
        assert len(unused) == lv.herrings and unused == sorted(unused)
        assert not set(unused) & set(used), "a red herring never repeats an answer tile"
        words = []
        for entry, (clue, blanks) in zip(entries, clues, strict=True):
            word = WORDS[entry["word"]]
            words.append(word)
            assert "".join(entry["syllables"]) == entry["word"] == word.text
            assert len(entry["syllables"]) == blanks
            lo, hi = lv.syllables
            assert lo <= blanks <= hi
            assert word.zipf >= lv.zipf_min
            tiers = [t for t in range(1, 5) if word.clue(t) == clue]
            assert tiers and max(tiers) >= lv.clue[0], (clue, lv.clue)
            assert word.text not in clue.upper()
        assert len({w.text for w in words}) == len(words)
        shared = SySkill.sharing(words)
        if lv.overlap == 0:
            assert shared == 0
        else:
            assert shared >= max(2, math.ceil(lv.overlap * lv.words))
        assert SY.score(p, p.expected) and SY.score(p, p.expected, strict=True)
        assert set(p.primitives) <= set(SY.primitives)


def test_dials_never_get_easier() -> None:
    levels = SY.config.levels
    assert len(levels) == 50
    first, last = levels[0], levels[-1]
    assert (first.words, first.syllables, first.zipf_min, first.overlap, first.herrings) == (4, (2, 3), 5.5, 0, 0)
    assert (last.words, last.syllables, last.zipf_min, last.overlap, last.herrings) == (10, (4, 6), 2.0, 0.8, 6)
    assert first.clue == (1, 1) and last.clue == (4, 4)
    for a, b in zip(levels, levels[1:], strict=False):
        assert b.words >= a.words
        assert b.syllables[0] >= a.syllables[0] and b.syllables[1] >= a.syllables[1]
        assert b.zipf_min <= a.zipf_min
        assert b.overlap >= a.overlap
        assert b.herrings >= a.herrings
        assert b.clue[0] >= a.clue[0] and b.clue[1] >= a.clue[1]


def test_scoring_by_word_set_and_strictly() -> None:
    p = SY.generate(6, 1, seed=11)[0]
    gold = json.loads(p.expected)
    shuffled = {"unused": list(reversed(gold["unused"])), "words": list(reversed(gold["words"]))}
    text = "Here you go:\n```json\n" + json.dumps(shuffled, indent=2) + "\n```"
    assert SY.score(p, text)
    assert not SY.score(p, text, strict=True), "strict: words in clue order"
    reordered_unused = {**gold, "unused": list(reversed(gold["unused"]))}
    assert SY.score(p, json.dumps(reordered_unused), strict=True)
    lower = {**gold, "words": [{"word": e["word"].lower()} for e in gold["words"]]}
    assert SY.score(p, json.dumps(lower))
    wrong = json.loads(p.expected)
    wrong["words"][0]["word"] = "WRONG"
    assert not SY.score(p, json.dumps(wrong))
    split = json.loads(p.expected)
    split["words"][0]["syllables"] = [split["words"][0]["word"]]
    assert SY.score(p, json.dumps(split)) and not SY.score(p, json.dumps(split), strict=True)
    assert not SY.score(p, "no json here") and not SY.score(p, "{broken")
    assert not SY.score(p, json.dumps({"words": gold["words"][:-1], "unused": []}))


def test_canonical_answer_format() -> None:
    water = Word("WATER", ("WA", "TER"), 5.6, ("clear liquid", "", ""))
    assert canonical_answer([water], ["TION", "BLE"]) == (
        '{"words":[{"syllables":["WA","TER"],"word":"WATER"}],"unused":["BLE","TION"]}'
    )
    assert parse_answer('x {"a": 1} y') == {"a": 1}
    assert parse_answer("[1, 2]") is None


def test_level_one_example_is_small() -> None:
    p = SY.generate(1, 1, seed=0)[0]
    tiles, clues = read_prompt(p.prompt)
    assert len(clues) == 4 and len(tiles) <= 12
    assert len(p.prompt) < 400


def test_unique_solution_check_rejects_an_ambiguous_bank() -> None:
    # two tier-4 clues "starts with P, 6 letters" + bank that spells both PEOPLE and PERSON
    people, person = WORDS["PEOPLE"], WORDS["PERSON"]
    bank = [*people.syllables, *person.syllables]
    assert SySkill._solutions([people, person], [people.clue_at_least(1), person.clue_at_least(1)], bank) == 1
    assert SySkill._solutions([people, person], [people.clue_at_least(4), person.clue_at_least(4)], bank) == 2, (
        "the two slots can swap"
    )
