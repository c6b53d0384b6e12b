"""Stored campaign transitions come in two spellings: the keeper's from/to and from_level/to_level."""

from __future__ import annotations

import pytest

from realm_tui.rules.progression import LevelTransition, transition_from_record


def test_both_spellings_read_the_same() -> None:
    keeper = {"skill": "bin", "from": 2, "to": 3, "step": 4000, "accuracy": 0.9}
    rules = {"skill": "bin", "from_level": 2, "to_level": 3, "step": 4000}
    assert transition_from_record(keeper) == transition_from_record(rules) == LevelTransition(4000, "bin", 2, 3)


def test_a_record_without_levels_is_an_error() -> None:
    with pytest.raises(KeyError):
        transition_from_record({"skill": "bin", "step": 1})
