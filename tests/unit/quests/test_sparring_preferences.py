"""Sparring → preference pairs for the Judge school: the lines, and the file they go to."""

from __future__ import annotations

import json

from realm_tui.contract.preference import parse_preference
from realm_tui.paths import RealmPaths
from realm_tui.quests.preference_data import require_valid_preferences
from realm_tui.quests.sparring import Attempt, preference_lines, spar, write_preferences
from realm_tui.quests.validate import validate_quest_file


def test_each_wrong_answer_becomes_one_pair_in_the_judges_format() -> None:
    attempts = [
        Attempt("①+①=", "①⓪", "①①", correct=False),
        Attempt("①+⓪=", "①", "①", correct=True),  # right: no pair
        Attempt("⓪+⓪=", "⓪", "  ", correct=False),  # no answer: nothing to push down
        Attempt("①⓪+①=", "①①", " ①①\n", correct=False),  # scored wrong, yet the gold: no pair
    ]
    lines = preference_lines(attempts)
    assert len(lines) == 1
    row = json.loads(lines[0])
    assert row == {"prompt": [{"role": "user", "content": "①+①="}], "chosen": "①⓪", "rejected": "①①"}
    pref, why = parse_preference(row)
    assert why is None and pref is not None
    assert pref.chosen == [{"role": "assistant", "content": "①⓪"}]
    assert pref.rejected == [{"role": "assistant", "content": "①①"}]
    (with_system,) = preference_lines(attempts[:1], system="Add.")
    assert json.loads(with_system)["prompt"][0] == {"role": "system", "content": "Add."}


def test_a_round_writes_a_valid_preference_quest_outside_the_queue(realm: RealmPaths) -> None:
    attempts, chat_lines = spar("bin", 2, 6, lambda prompts: ["①"] * len(prompts))
    lines = preference_lines(attempts)
    wrong = [a for a in attempts if not a.correct]
    assert len(lines) == len(wrong) >= 1 and len(chat_lines) == 3 * len(wrong)
    path = write_preferences(realm.quests, skill="bin", level=2, lines=lines)
    assert path is not None and path.parent == realm.quests / "preferences"
    assert path.name.startswith(f"prefs_bin_level2_{len(lines)}_")
    assert require_valid_preferences(path).valid_lines == tuple(range(1, len(lines) + 1))
    assert not validate_quest_file(path).ok, "not a chat quest: it must stay off the board"
    again = write_preferences(realm.quests, skill="bin", level=2, lines=lines)
    assert again is not None and again != path and path.read_text() == again.read_text(), "never overwrites"
    assert [p.name for p in (realm.quests / "preferences").iterdir() if p.name.startswith(".")] == []
    assert write_preferences(realm.quests, skill="bin", level=2, lines=[]) is None
