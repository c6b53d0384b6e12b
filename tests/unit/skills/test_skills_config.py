"""SkillConfig: the shipped skill YAMLs load, and every bad input is one clear ConfigError."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from realm_tui.config.skill import BinConfig, SyConfig, load_skill, load_skills
from realm_tui.errors import ConfigError

SHIPPED = Path(__file__).resolve().parents[3] / "configs" / "skills"


def test_shipped_skills_load() -> None:
    skills = load_skills(SHIPPED)
    assert list(skills) == ["bin", "sy"]
    b, s = skills["bin"], skills["sy"]
    assert isinstance(b, BinConfig) and isinstance(s, SyConfig)
    assert (b.max_level, s.max_level) == (30, 50)
    for cfg in (b, s):
        assert cfg.threshold == 0.8 and cfg.min_evals == 3
        assert cfg.level(1).level == 1 and cfg.level(cfg.max_level).level == cfg.max_level
    assert b.level(1).ops == ("add",) and b.level(8).key_share >= 0.5
    with pytest.raises(ValueError):
        b.level(31)


def _write(tmp_path: Path, name: str, data: object) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _bin_data() -> dict:
    return yaml.safe_load((SHIPPED / "bin.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("name", "change", "message"),
    [
        ("sy.yaml", {}, "does not match the file name"),
        ("bin.yaml", {"id": "chess"}, "unknown skill 'chess'"),
        ("bin.yaml", {"colour": "red"}, "colour: unknown key"),
        ("bin.yaml", {"primitives": ["logic_chain", "carry_bits"]}, "not a primitive id"),
        ("bin.yaml", {"max_level": 31}, "levels must be numbered 1..31"),
        ("bin.yaml", {"threshold": 1.5}, "threshold"),
        ("bin.yaml", {"eval_samples_per_level": 1000}, "eval_samples_per_level"),
    ],
)
def test_bad_skill_configs_name_the_problem(tmp_path: Path, name: str, change: dict, message: str) -> None:
    path = _write(tmp_path, name, {**_bin_data(), **change})
    with pytest.raises(ConfigError) as err:
        load_skill(path)
    text = str(err.value)
    assert message in text and name in text and "\n" not in text


@pytest.mark.parametrize(
    ("level_change", "message"),
    [
        ({"ops": ["add", "pow"]}, r"levels\[0\]\.ops"),
        ({"tiers": {"plain": -1.0}}, "tier weights"),
        ({"trace_steps": [1, 6]}, "trace_steps"),
        ({"key_share": 2}, "key_share"),
    ],
)
def test_bad_bin_levels(tmp_path: Path, level_change: dict, message: str) -> None:
    data = _bin_data()
    data["levels"][0] = {**data["levels"][0], **level_change}
    with pytest.raises(ConfigError, match=message):
        load_skill(_write(tmp_path, "bin.yaml", data))


@pytest.mark.parametrize(
    ("level_change", "message"),
    [({"syllables": [3, 2]}, "syllables"), ({"clue": [0, 5]}, "clue"), ({"overlap": 1.5}, "overlap")],
)
def test_bad_sy_levels(tmp_path: Path, level_change: dict, message: str) -> None:
    data = yaml.safe_load((SHIPPED / "sy.yaml").read_text(encoding="utf-8"))
    data["levels"][0] = {**data["levels"][0], **level_change}
    with pytest.raises(ConfigError, match=message):
        load_skill(_write(tmp_path, "sy.yaml", data))


def test_not_a_mapping_and_missing_folder(tmp_path: Path) -> None:
    (tmp_path / "bin.yaml").write_text("- a list\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="mapping"):
        load_skill(tmp_path / "bin.yaml")
    with pytest.raises(ConfigError, match="not found"):
        load_skills(tmp_path / "nowhere")
