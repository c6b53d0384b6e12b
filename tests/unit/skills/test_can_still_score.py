"""An eval stops decoding an answer only when its skill proves no continuation can score: checked
against the scorers themselves on random right answers and their prefixes."""

from __future__ import annotations

import json
import random

from realm_tui.skills import get_skill
from realm_tui.skills.json_prefix import viable_json_object_prefix


def random_value(rng: random.Random, depth: int = 0) -> object:
    kind = rng.randrange(8 if depth < 3 else 5)
    if kind == 0:
        return rng.choice([True, False, None])
    if kind == 1:
        return rng.choice([0, -7, 12, 3.25, -0.5, 1e21, 2.5e-8, float("nan"), float("inf"), -float("inf")])
    if kind in (2, 3, 4):
        return "".join(rng.choice('ab "\\/\n\té😀\x07') for _ in range(rng.randrange(5)))
    if kind == 5:
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {f"k{i}": random_value(rng, depth + 1) for i in range(rng.randrange(4))}


def test_every_prefix_of_a_json_object_is_viable_and_a_closed_one_is_not() -> None:
    rng = random.Random(4)
    for _ in range(300):
        value = {f"k{i}": random_value(rng) for i in range(rng.randrange(1, 4))}
        text = json.dumps(
            value, indent=rng.choice([None, 0, 2]), separators=rng.choice([None, (",", ":"), (" , ", " : ")])
        )
        assert isinstance(json.loads(text), dict)
        for k in range(1, len(text)):
            assert viable_json_object_prefix(text[:k]), (text[:k], text)
        assert not viable_json_object_prefix(text), "closed: any later } would be extra data"


def test_broken_json_is_not_viable() -> None:
    for text in [
        '{"a":1,}',
        '{"a" 1',
        '{"words":":[{"sylables',
        "{'a':1",
        '{"a":tru1',
        '{"a":01,',
        '{"a":"\\x"',
        '{"a":"\x01',
        '{"a":[1,]',
        '{"a":.5,',
        '{"a":-}',
        '{"a":1}}',
        '{"a":"\\u12g',
    ]:
        assert not viable_json_object_prefix(text), text
        for tail in ("", "}", "]}", '"}', "0}", "}}"):
            try:
                json.loads(text + tail)
            except ValueError:
                continue
            raise AssertionError(f"{text + tail!r} parses, so {text!r} was viable")


def test_sy_gives_up_only_on_answers_that_cannot_parse() -> None:
    sy = get_skill("sy")
    problem = sy.generate(1, 1, seed=3)[0]
    gold = problem.expected
    assert sy.can_still_score(problem, "", len(gold)), "room for the whole right answer"
    for k in range(1, len(gold) + 1):  # from its "{" on, a prefix of the right answer is viable as it is
        assert sy.can_still_score(problem, gold[:k], 0), "a prefix of the right answer"
    assert sy.can_still_score(problem, "let me think", 500), "no { yet: a whole JSON may follow"
    assert not sy.can_still_score(problem, '{"words":":[{"sylables', 500)
    wrong_but_valid = '{"words":[{"syllables":["X"],"word":"X"}]'
    assert sy.can_still_score(problem, wrong_but_valid, 500), "a later words key could still override it"
    assert sy.can_still_score(problem, gold + "\nthanks", 0), "already right: only a later } would spoil it"


def test_bin_gives_up_only_when_the_result_cannot_fit() -> None:
    bin_ = get_skill("bin")
    rng = random.Random(1)
    problems = [p for level in (1, 3, 6, 12) for p in bin_.generate(level, 20, seed=level)]
    for problem in problems:
        gold = problem.expected
        result = gold.strip().splitlines()[-1].rsplit("=", 1)[-1].strip()
        # Every split of a right answer into prefix + rest: the prefix never gives up with room for the rest.
        for answer in (gold, "noise\n" + gold, gold + "\n", "x = " + result):
            assert bin_.score(problem, answer)
            for k in range(len(answer) + 1):
                assert bin_.can_still_score(problem, answer[:k], len(answer) - k), (answer, k)
        junk = "".join(rng.choice("⓪① =x") for _ in range(12)).replace(result[:1], "x")
        assert not bin_.can_still_score(problem, junk, len(result) - 1), "the result no longer fits"
        assert bin_.can_still_score(problem, junk, len(result))


def test_sy_without_a_brace_gives_up_only_when_no_scoring_json_fits() -> None:
    """No "{" yet: the whole JSON is still to come. The shortest answers that score (bare word
    strings, lower case, and words shortened by characters that `.upper()` expands, "ﬃ" for FFI)
    fit the bound at every split, and one character less than the bound gives up."""
    from realm_tui.skills.sy import shortest_scoring_json

    sy = get_skill("sy")
    for problem in sy.generate(1, 10, seed=5) + sy.generate(8, 10, seed=8):
        words = [w["word"] for w in json.loads(problem.expected)["words"]]
        least = shortest_scoring_json(problem)
        for entries in (words, [w.lower() for w in words], [w.replace("FFI", "ﬃ").replace("SS", "ß") for w in words]):
            answer = "hmm " + json.dumps({"words": entries}, separators=(",", ":"), ensure_ascii=False)
            assert sy.score(problem, answer)
            assert len(answer) - len("hmm ") >= least
            for k in range(len("hmm ") + 1):
                assert sy.can_still_score(problem, answer[:k], len(answer) - k), (answer, k)
        assert not sy.can_still_score(problem, "hmm ", least - 1)
        assert sy.can_still_score(problem, "hmm ", least)
