"""The realm's configs as a whole: cross-file checks, collecting every problem, loading one hero."""

from __future__ import annotations

import shutil
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from realm_tui.config.realm_config import (
    SKILL_MODULE,
    load_hero,
    load_memory_profile,
    load_realm_configs,
    validate_realm_configs,
)
from realm_tui.errors import ConfigError

SHIPPED = Path(__file__).resolve().parents[3] / "configs"


@pytest.fixture
def configs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the shipped configs (YAML only), with the skill module hidden."""
    monkeypatch.setitem(sys.modules, SKILL_MODULE, None)  # type: ignore[arg-type]
    dest = tmp_path / "configs"
    shutil.copytree(SHIPPED, dest, ignore=shutil.ignore_patterns("skills"))
    (dest / "skills").mkdir()
    return dest


def fake_skills(monkeypatch: pytest.MonkeyPatch, load: Callable[[Path], Any]) -> None:
    module = types.ModuleType(SKILL_MODULE)
    module.load_skills = load  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, SKILL_MODULE, module)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def messages(configs: Path) -> list[str]:
    return [str(e) for e in validate_realm_configs(configs)]


def test_copy_is_clean_and_skills_are_skipped_without_their_module(configs: Path) -> None:
    assert messages(configs) == []
    realm = load_realm_configs(configs)
    assert not realm.skills_loaded and realm.skills == {}
    assert realm.configs_dir == configs


def test_file_name_must_match_id(configs: Path) -> None:
    (configs / "heroes" / "dio.yaml").rename(configs / "heroes" / "dio2.yaml")
    (found,) = messages(configs)
    assert "dio2.yaml: id: 'dio' differs from the file name" in found


def test_unknown_memory_profile_names_the_hero_and_lists_profiles(configs: Path) -> None:
    edit(configs / "heroes" / "flo.yaml", "memory_profile: 24gb_galore", "memory_profile: 24gb_magic")
    (found,) = messages(configs)
    assert "flo.yaml: memory_profile: unknown memory profile '24gb_magic'; available: 24gb_full_8bit_opt" in found
    with pytest.raises(ConfigError, match="flo.yaml: memory_profile: unknown"):
        load_hero(configs, "flo")


def test_a_broken_profile_is_reported_once_not_per_hero(configs: Path) -> None:
    edit(configs / "memory_profiles" / "cpu_tiny.yaml", "max_batch_size: 128", "max_batch_size: many")
    (found,) = messages(configs)
    assert "cpu_tiny.yaml: max_batch_size" in found


def test_hero_must_fit_its_profile(configs: Path) -> None:
    edit(configs / "heroes" / "dio-nano.yaml", "batch_size: 32", "batch_size: 512")
    edit(configs / "heroes" / "ojas.yaml", "optimizer: paged_adamw_32bit", "optimizer: galore_adamw")
    found = messages(configs)
    assert any("dio-nano.yaml: training_defaults.batch_size: 512 is more than" in m for m in found)
    assert any("ojas.yaml: training_defaults.optimizer: optimizer galore_adamw needs method galore" in m for m in found)
    with pytest.raises(ConfigError, match="max_batch_size 128"):
        load_hero(configs, "dio-nano")


def test_every_problem_is_collected_and_the_first_is_raised(configs: Path) -> None:
    edit(configs / "heroes" / "dio.yaml", "name: Dio", "nam: Dio")
    (configs / "titles.yaml").write_text("titles: []\n")
    (configs / "curriculum.yaml").unlink()
    (configs / "heroes" / "extra.yml").write_text("id: extra\n")
    found = messages(configs)
    assert len(found) == 4
    assert all("\n" not in m for m in found)
    for part in (
        "dio.yaml: nam: unknown key (did you mean 'name'?)",
        "extra.yml: use the .yaml",
        "titles.yaml: titles",
        "curriculum.yaml",
    ):
        assert any(part in m for m in found), part
    with pytest.raises(ConfigError) as info:
        load_realm_configs(configs)
    assert str(info.value) == found[0]


def test_missing_folders_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, SKILL_MODULE, None)  # type: ignore[arg-type]
    found = messages(tmp_path)
    for part in (
        "memory_profiles: folder not found",
        "heroes: folder not found",
        "titles.yaml: file not found",
    ):
        assert any(part in m for m in found), part


def test_empty_hero_folder(configs: Path) -> None:
    for path in (configs / "heroes").iterdir():
        path.unlink()
    assert any("no hero files" in m for m in messages(configs))


def test_skills_are_checked_when_their_module_exists(configs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_skills(monkeypatch, lambda folder: {"bin": object(), "sy": object()})
    realm = load_realm_configs(configs)
    assert realm.skills_loaded and set(realm.skills) == {"bin", "sy"}

    fake_skills(monkeypatch, lambda folder: {"bin": object()})
    found = messages(configs)
    assert any("curriculum.yaml: skills: unknown skill 'sy'; available: bin" in m for m in found)
    assert any("titles.yaml: conditions.skill_levels: unknown skill 'sy'" in m for m in found)
    assert any("dio-nano.yaml: idle.skill_priorities: unknown skill 'sy'" in m for m in found)


def test_a_skill_config_error_is_collected(configs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(folder: Path) -> dict[str, Any]:
        raise ConfigError(folder / "sy.yaml", "levels: required field is missing")

    fake_skills(monkeypatch, broken)
    assert messages(configs) == [f"{configs / 'skills' / 'sy.yaml'}: levels: required field is missing"]


def test_load_hero_lists_the_heroes_when_unknown(configs: Path) -> None:
    assert load_hero(configs, "dio-nano").id == "dio-nano"
    with pytest.raises(ConfigError) as info:
        load_hero(configs, "zed")
    assert "unknown hero 'zed'; available: dio, dio-nano, flo, ojas" in str(info.value)
    with pytest.raises(ConfigError, match="not valid"):
        load_hero(configs, "../../etc/passwd")
    with pytest.raises(ConfigError, match="unknown hero 'zed'"):
        load_realm_configs(configs).hero("zed")


def test_load_hero_checks_the_file_id(configs: Path) -> None:
    shutil.copy(configs / "heroes" / "dio.yaml", configs / "heroes" / "dio-copy.yaml")
    with pytest.raises(ConfigError, match="dio-copy.yaml: id: 'dio' differs"):
        load_hero(configs, "dio-copy")


def test_load_memory_profile(configs: Path) -> None:
    assert load_memory_profile(configs, "24gb_qlora").method == "qlora"
    with pytest.raises(ConfigError, match="unknown memory profile 'nope'; available: 24gb_full_8bit_opt"):
        load_memory_profile(configs, "nope")
