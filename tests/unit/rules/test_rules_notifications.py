"""Notifications built from rule outcomes."""

from __future__ import annotations

from realm_tui.rules import notifications as n
from realm_tui.rules.achievements import ACHIEVEMENTS
from realm_tui.rules.progression import MaxedOutVerdict, Regression


def test_level_up_only_when_level_rises() -> None:
    assert n.level_up(2, 2) is None
    assert n.level_up(3, 2) is None
    note = n.level_up(2, 3)
    assert note is not None
    assert (note.kind, note.severity) == ("level_up", "success")
    assert "level 3" in note.body
    multi = n.level_up(1, 4)
    assert multi is not None and "3 levels at once" in multi.body


def test_skill_level_up() -> None:
    note = n.skill_level_up("bin", 4)
    assert note.kind is n.NotificationKind.SKILL_LEVEL_UP
    assert "BIN level 4" in note.title and "level 5" in note.body


def test_new_champion_and_quest() -> None:
    champ = n.new_champion("checkpoint-1200-20250101-1200", 1200, 0.875)
    assert champ.kind == "new_champion" and "88%" in champ.body and "step 1200" in champ.body
    assert "accuracy" not in n.new_champion("ck", 1, None).body
    quest = n.quest_complete("binary_basics.jsonl", gold=100)
    assert quest.kind == "quest_complete" and "+100 gold" in quest.body
    assert "gold" not in n.quest_complete("q").body


def test_regression_and_maxed_out_are_warnings() -> None:
    note = n.regression(Regression("sy", 3, 0.9, 0.7))
    assert (note.kind, note.severity) == ("regression", "warning")
    assert "SY level 3" in note.title and "90%" in note.body and "70%" in note.body
    assert n.maxed_out(MaxedOutVerdict(False, "fine", 0.2, 0)) is None
    capped = n.maxed_out(MaxedOutVerdict(True, "Too costly.", 1.5, 0))
    assert capped is not None and capped.kind == "maxed_out" and "New Game+" in capped.body


def test_trainer_died_is_an_error() -> None:
    note = n.trainer_died("CUDA out of memory", exit_code=1)
    assert (note.kind, note.severity) == ("trainer_died", "error")
    assert "exit code 1" in note.body
    assert "exit code" not in n.trainer_died("killed").body


def test_achievement_unlocked() -> None:
    note = n.achievement_unlocked(ACHIEVEMENTS["first_step"])
    assert note.kind == "achievement" and "First Blood" in note.title


def test_notifications_are_plain_frozen_values() -> None:
    note = n.skill_level_up("bin", 1)
    assert note == n.skill_level_up("bin", 1)
    assert hash(note) == hash(n.skill_level_up("bin", 1))
