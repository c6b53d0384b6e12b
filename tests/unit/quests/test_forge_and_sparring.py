"""The Forge (skill data into the queue, idle forging) and the sparring transformation."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from realm_tui.config.hero import IdleBehaviour
from realm_tui.errors import InputError
from realm_tui.paths import RealmPaths
from realm_tui.quests.board import Board
from realm_tui.quests.forge import forge_for_idle, forge_quest
from realm_tui.quests.sparring import NotYet, spar, sparring_examples, sparring_lines
from realm_tui.quests.validate import LEVELS, check_example, validate_quest_file
from realm_tui.skills import get_skill
from realm_tui.store import Store

from ._helpers import good_lines, write


def _hero(**idle: object) -> SimpleNamespace:
    return SimpleNamespace(idle=IdleBehaviour(**idle))  # type: ignore[arg-type]


def test_forge_writes_a_valid_quest_into_the_queue(realm: RealmPaths, board: Board) -> None:
    record = forge_quest(board, skill="bin", level=2, count=40, priority="high")
    path = realm.root / record.path
    assert record.state == "queued" and record.priority == "high"
    assert re.fullmatch(r"train_bin_level2_40_\d{8}-\d{6}(-\d+)?\.jsonl", path.name)
    assert validate_quest_file(path, levels=LEVELS).ok
    assert record.report["forge"] == {"skill": "bin", "level": 2, "count": 40, "index": 0, "idle": False}
    skill = get_skill("bin")
    # Levels 1-5 have question families too small to hold out, and say so (skills/base.py);
    # from level 6 on a forged quest never holds an eval question.
    assert skill.eval_overlaps_training(2) and not skill.eval_overlaps_training(6)
    big = forge_quest(board, skill="bin", level=6, count=40)
    held_out = {p.prompt for p in skill.eval_pool(6)}
    prompts = {json.loads(x)["messages"][0]["content"] for x in (realm.root / big.path).read_text().splitlines()}
    assert not prompts & held_out  # never an eval question
    assert forge_quest(board, skill="bin", level=2, count=5).report["forge"]["index"] == 1
    small = forge_quest(board, skill="bin", level=1, count=100)  # level 1 has few distinct sums
    lines = (realm.root / small.path).read_text().splitlines()
    assert len(set(lines)) == len(lines) < 100 and f"_level1_{len(lines)}_" in small.path


@pytest.mark.parametrize(
    ("skill", "level", "count", "message"),
    [("nope", 1, 5, "unknown skill"), ("bin", 99, 5, "levels 1..30"), ("bin", 1, 0, "--count")],
)
def test_forge_bad_requests(board: Board, skill: str, level: int, count: int, message: str) -> None:
    with pytest.raises(InputError, match=message):
        forge_quest(board, skill=skill, level=level, count=count)


def test_idle_forging_only_when_the_queue_is_empty(realm: RealmPaths, board: Board) -> None:
    hero = _hero(skill_priorities={"bin": 1.0}, forge_count=2, forge_batch=20)
    assert forge_for_idle(board, _hero(skill_priorities={"bin": 1.0}, forge_count=0), {}) is None
    write(realm.quests / "inbox" / "user.jsonl", good_lines(1))
    board.scan()
    assert forge_for_idle(board, hero, {"bin": 3}) is None
    board.cancel("user")
    first = forge_for_idle(board, hero, {"bin": 3})
    assert first is not None and first.name.startswith("train_bin_level4_20_")
    forged = board.quests("queued")
    assert len(forged) == 2 and all(r.report["forge"]["idle"] for r in forged)


def test_idle_forging_spreads_over_skills_by_weight(board: Board) -> None:
    hero = _hero(skill_priorities={"bin": 2.0, "nope": 1.0, "off": 0.0}, forge_count=3, forge_batch=5)
    forge_for_idle(board, hero, {})
    skills = [r.report["forge"]["skill"] for r in board.quests("queued")]
    assert skills == ["bin", "bin", "bin"]  # the unknown skill is skipped, the zero weight never chosen


def test_idle_forging_skips_a_level_whose_quest_was_rejected(realm: RealmPaths, store: Store) -> None:
    tiny = Board(realm, store, max_tokens=10, count_tokens=len)  # every example is too long
    hero = _hero(skill_priorities={"bin": 1.0}, forge_count=1, forge_batch=5)
    assert forge_for_idle(tiny, hero, {"bin": 0}) is None
    (rejected,) = tiny.quests("failed")
    assert "no valid example" in rejected.reasons[0]
    assert rejected.path.startswith("quests/failed/train_bin_level1_5_") and rejected.id.startswith("train_bin")
    assert forge_for_idle(tiny, hero, {"bin": 0}) is None
    assert len(tiny.quests("failed")) == 1  # not forged again


def test_sparring_turns_a_wrong_answer_into_three_examples() -> None:
    examples = sparring_examples("①+①=?", "①⓪", "①①", system="Be exact.")
    assert len(examples) == 3
    identify, fix, confirm = (e["messages"] for e in examples)
    assert all(check_example(e) is None for e in examples)
    assert identify[0]["content"] == "Be exact." and "①①" in identify[1]["content"]
    assert identify[-1]["content"] == "INCORRECT\n①⓪"
    assert fix[-1]["content"] == "①⓪" and "Wrong answer:\n①①" in fix[1]["content"]
    assert "①⓪" in confirm[1]["content"] and confirm[-1]["content"] == "CORRECT"
    with pytest.raises(ValueError, match="nothing to correct"):
        sparring_examples("q", "a", " a ")
    assert "(no answer)" in sparring_examples("q", "a", "")[0]["messages"][0]["content"]


def test_sparring_lines_and_round(tmp_path: Path) -> None:
    with pytest.raises(NotYet, match="not available yet"):
        spar("bin", 1, 3, None)
    attempts, lines = spar("bin", 2, 6, lambda prompts: ["wrong"] * len(prompts))
    assert len(attempts) == 6 and not any(a.correct for a in attempts)
    assert len(lines) == 18
    path = tmp_path / "spar.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert validate_quest_file(path).ok
    golden = spar("bin", 2, 6, lambda prompts: [a.gold for a in attempts])[1]
    assert golden == [] and sparring_lines([]) == []
