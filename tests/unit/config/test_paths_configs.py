"""Paths (issue 17 point 1): domains, physics, techniques and paths.yaml load and cross-check;
`realm paths` lists them; `realm validate` refuses each broken file with exit 2 naming file and
field. `realm` runs as a subprocess on a realm made by `realm init`."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cli_kit import realm_cli as realm
from realm_tui.battle.path_choice import configs_on_path
from realm_tui.config.realm_config import load_realm_configs, validate_realm_configs
from realm_tui.errors import InputError
from realm_tui.services.init_realm import init_realm


@pytest.fixture
def home(tmp_path: Path) -> Path:
    root, _ = init_realm(tmp_path / "realm")
    return root.root


def one_line(text: str) -> str:
    return " ".join(text.split())


def edit(path: Path, **changes: object) -> None:
    data = yaml.safe_load(path.read_text())
    data.update(changes)
    path.write_text(yaml.safe_dump(data, allow_unicode=True))


def test_the_shipped_paths_load_with_the_required_domains_and_techniques(home: Path) -> None:
    book = load_realm_configs(home / "configs").path_book
    assert book is not None
    assert set(book.domains["reasoning"].skills) == {"bin", "sy"}
    assert set(book.domains["arithmetic"].skills) == {"bin"}
    assert set(book.domains["words"].skills) == {"sy"}
    optimizers = {book.physics[t.physics].optimizer.type for t in book.techniques.values()}
    assert {"adamw", "adamw_8bit", "muon", "galore_adamw"} <= optimizers
    assert any(book.physics[t.physics].methods == ["lora", "qlora"] for t in book.techniques.values())
    for t in book.techniques.values():  # the lore refers to them by these
        assert t.id and t.name and t.icon and t.summary


def test_the_default_path_for_dio_nano_is_adamw_at_reasoning(home: Path) -> None:
    """Without --path a battle keeps the hero's settings and curriculum.yaml: for dio-nano the
    same hero and curriculum as adamw@reasoning."""
    configs = load_realm_configs(home / "configs")
    hero = configs.hero("dio-nano")
    assert configs_on_path(configs, hero, None) == (configs, hero)
    on_path, moved = configs_on_path(configs, hero, "adamw@reasoning")
    assert moved == hero
    assert on_path.curriculum == configs.curriculum


def test_a_path_moves_the_optimizer_and_the_skills_and_keeps_the_memory_knobs(home: Path) -> None:
    configs = load_realm_configs(home / "configs")
    hero = configs.hero("dio-nano")
    on_path, moved = configs_on_path(configs, hero, "muon@arithmetic")
    assert moved.training_defaults.optimizer == "muon"
    assert moved.training_defaults.batch_size == hero.training_defaults.batch_size
    assert moved.memory_profile == hero.memory_profile
    assert on_path.curriculum.enabled_skills() == ["bin"]


def test_a_curriculum_focused_on_a_skill_outside_the_domain_still_validates(home: Path) -> None:
    """A realm whose curriculum.yaml focuses on BIN (as the progression tests' realms do) stays
    valid with the shipped `words` (SY only) domain: on that path the domain's skills share the
    steps by weight instead."""
    edit(home / "configs" / "curriculum.yaml", strategy="focus", focus_skill="bin")
    configs = load_realm_configs(home / "configs")
    assert validate_realm_configs(home / "configs") == []
    on_path, _hero = configs_on_path(configs, configs.hero("dio-nano"), "adamw@words")
    assert on_path.curriculum.strategy == "weighted" and on_path.curriculum.enabled_skills() == ["sy"]
    on_bin, _hero = configs_on_path(configs, configs.hero("dio-nano"), "adamw@arithmetic")
    assert on_bin.curriculum.strategy == "focus" and on_bin.curriculum.focus_skill == "bin"


def test_a_path_the_heros_profile_refuses_is_refused(home: Path) -> None:
    configs = load_realm_configs(home / "configs")
    with pytest.raises(InputError, match=r"galore@reasoning: hero dio-nano's memory profile cpu_tiny refuses"):
        configs_on_path(configs, configs.hero("dio-nano"), "galore@reasoning")
    with pytest.raises(InputError, match=r"unknown path 'muon@nowhere'.*muon@reasoning"):
        configs_on_path(configs, configs.hero("dio-nano"), "muon@nowhere")


def test_realm_paths_lists_every_path_with_its_technique_and_verdict(home: Path) -> None:
    out = realm(home, "paths")
    assert out.returncode == 0, out.stderr
    text = one_line(out.stdout)
    for path_id in ("adamw@reasoning", "muon@reasoning", "adamw-8bit@reasoning", "galore@reasoning", "lora@reasoning"):
        assert path_id in text
    assert "Orthogonal" in text and "🧲" in text
    assert "follows: default" in text


@pytest.mark.parametrize(
    ("where", "change", "expected"),
    [
        (
            "physics/muon.yaml",
            {"optimizer": {"type": "muonx", "args": {}}},
            "physics/muon.yaml: optimizer.type: Input should be 'adamw'",
        ),
        (
            "techniques/muon.yaml",
            {"physics": "missing"},
            "techniques/muon.yaml: physics: unknown physics 'missing'",
        ),
        (
            "techniques/galore.yaml",
            {"suits": {"heroes": ["dio-nano"]}},
            "techniques/galore.yaml: suits.heroes[0]: hero dio-nano's memory profile refuses it",
        ),
        (
            "techniques/lora.yaml",
            {"suits": {"profiles": ["cpu_tiny"]}},
            "techniques/lora.yaml: suits.profiles[0]: profile cpu_tiny refuses this physics",
        ),
        (
            "paths.yaml",
            {"paths": [{"technique": "muon", "domain": "nowhere"}]},
            "paths.yaml: paths[0].domain: unknown domain 'nowhere'",
        ),
        (
            "paths.yaml",
            {"paths": [{"technique": "nunchaku", "domain": "words"}]},
            "paths.yaml: paths[0].technique: unknown technique 'nunchaku'",
        ),
        (
            "domains/words.yaml",
            {"skills": {"xx": {"weight": 1.0}}},
            "domains/words.yaml: skills: unknown skill 'xx'",
        ),
        (
            "physics/galore.yaml",
            {"methods": ["full"]},
            "physics/galore.yaml: methods: optimizer galore_adamw needs method galore",
        ),
    ],
)
def test_validate_refuses_a_broken_path_file_naming_file_and_field(
    home: Path, where: str, change: dict[str, object], expected: str
) -> None:
    edit(home / "configs" / where, **change)
    out = realm(home, "validate")
    assert out.returncode == 2, out.stdout
    assert expected in one_line(out.stderr).replace(str(home / "configs") + "/", "")


def test_a_broken_path_file_refuses_the_battle_before_anything_is_written(home: Path) -> None:
    edit(home / "configs" / "paths.yaml", paths=[{"technique": "muon", "domain": "nowhere"}])
    out = realm(home, "train", "--no-ui", "--steps", "1")
    assert out.returncode == 2
    assert "paths[0].domain: unknown domain 'nowhere'" in one_line(out.stderr)
    assert not (home / "saves" / "realm.json").exists() or "campaign" not in (home / "saves" / "realm.json").read_text()


def test_a_realm_without_path_files_still_validates_and_offers_none(home: Path) -> None:
    import shutil

    for folder in ("domains", "physics", "techniques"):
        shutil.rmtree(home / "configs" / folder)
    (home / "configs" / "paths.yaml").unlink()
    assert validate_realm_configs(home / "configs") == []
    out = realm(home, "paths")
    assert out.returncode == 0
    assert "no paths" in out.stdout


def _rows(stdout: str) -> dict[str, str]:
    """Path id → its table row's first line (the `Now` column first)."""
    rows = {}
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.split("│")]
        if len(cells) > 3 and ("@" in cells[2] or cells[2] == "default"):
            rows[cells[2]] = cells[1]
    return rows


def test_realm_paths_has_a_default_row_and_marks_the_path_followed_now(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from realm_tui.paths import RealmPaths
    from realm_tui.store import CampaignRecord, Store

    monkeypatch.setenv("COLUMNS", "160")  # one table row per line
    out = realm(home, "paths")
    assert out.returncode == 0, out.stderr
    rows = _rows(out.stdout)
    assert "Now" in out.stdout
    assert rows["default"] == "▶", rows  # a new campaign follows the default path
    assert all(mark == "" for path_id, mark in rows.items() if path_id != "default"), rows
    with Store.open(RealmPaths(home).store_file) as store:
        campaign = CampaignRecord(id="c1", hero_id="dio-nano", status="active", training_path="muon@arithmetic")
        store.campaigns.add(campaign)
    out = realm(home, "paths")
    rows = _rows(out.stdout)
    assert rows["muon@arithmetic"] == "▶" and rows["default"] == "", rows
