"""Difficulty never falls with level, and `realm validate` refuses a level that cannot be built."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from realm_tui.services.init_realm import init_realm
from realm_tui.skills import get_skill
from realm_tui.skills.checks import falling_difficulty, unbuildable_levels
from realm_tui.skills.registry import build_skill


@pytest.mark.parametrize("skill_id", ["bin", "sy"])
def test_shipped_difficulty_never_falls(skill_id: str) -> None:
    skill = get_skill(skill_id)
    measures = [skill.difficulty(level) for level in range(1, skill.max_level + 1)]
    assert all(m and m.keys() == measures[0].keys() for m in measures)
    for level, (low, high) in enumerate(zip(measures, measures[1:], strict=False), start=2):
        for name, value in high.items():
            assert value >= low[name], f"{skill_id} level {level}: {name} falls"
    first, last = measures[0], measures[-1]
    assert any(last[name] > first[name] for name in first), "the top level is harder than the first"
    assert falling_difficulty(skill) == []


def test_difficulty_grows_where_the_issue_says() -> None:
    bin_ = get_skill("bin")
    assert [bin_.difficulty(lv)["operand_bits"] for lv in (1, 7, 30)] == [2, 8, 31]
    assert bin_.difficulty(6)["answer_bits"] > bin_.difficulty(5)["answer_bits"], "mul doubles the width"
    sy = get_skill("sy")
    assert sy.difficulty(50)["rarity"] > sy.difficulty(1)["rarity"]
    assert sy.difficulty(40)["clue_min"] == 4


def test_a_falling_dial_is_reported_with_its_level() -> None:
    cfg = get_skill("sy").config
    easier = cfg.levels[4].model_copy(update={"herrings": 0})
    skill = build_skill(cfg.model_copy(update={"levels": (*cfg.levels[:4], easier, *cfg.levels[5:])}))
    found = falling_difficulty(skill)
    assert any(line.startswith("level 5: herrings falls from 2 to 0") for line in found), found


def test_an_unbuildable_level_is_named_with_its_reason() -> None:
    cfg = get_skill("sy").config
    impossible = cfg.levels[-1].model_copy(update={"syllables": (7, 8)})
    skill = build_skill(cfg.model_copy(update={"levels": (*cfg.levels[:-1], impossible)}))
    assert unbuildable_levels(skill) == ["level 50: cannot build a problem: only 0 words fit its dials"]
    assert unbuildable_levels(get_skill("sy")) == [] and unbuildable_levels(get_skill("bin")) == []


def test_realm_validate_refuses_an_unbuildable_level(tmp_path: Path) -> None:
    realm, _ = init_realm(tmp_path / "realm")
    sy_file = realm.configs / "skills" / "sy.yaml"
    lines = sy_file.read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("  - {level: 50,"))
    assert "syllables: [4, 6]" in lines[at]
    lines[at] = lines[at].replace("syllables: [4, 6]", "syllables: [7, 8]")
    sy_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "REALM_HOME"}
    out = subprocess.run(
        [sys.executable, "-m", "realm_tui", "--home", str(realm.root), "validate"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert out.returncode == 2, out.stdout + out.stderr
    assert "sy.yaml" in out.stderr and "level 50: cannot build a problem: only 0 words fit" in out.stderr
    assert "Traceback" not in out.stderr
