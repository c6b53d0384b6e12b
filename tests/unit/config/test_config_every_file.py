"""`realm validate` checks every file under configs/, and a battle refuses a bad config before it
writes anything (issue 13, defect 6): `realm` as a subprocess on a realm made by `realm init`."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_kit import realm_cli as realm
from realm_tui.config.realm_config import load_realm_configs, validate_realm_configs
from realm_tui.errors import ConfigError
from realm_tui.services.init_realm import init_realm


@pytest.fixture
def home(tmp_path: Path) -> Path:
    root, _ = init_realm(tmp_path / "realm")
    return root.root


def one_line(text: str) -> str:
    return " ".join(text.split())


def test_a_bad_quests_yaml_is_refused_naming_file_and_field(home: Path) -> None:
    policy = home / "configs" / "quests.yaml"
    policy.write_text("max_retries: -1\n")
    out = realm(home, "validate")
    assert out.returncode == 2, out.stdout
    assert f"{policy}: max_retries: Input should be greater than or equal to 0 (got -1)" in one_line(out.stderr)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("max_retrys: 2\n", "max_retrys: unknown key (did you mean 'max_retries'?)"),
        ("max_invalid_share: 1.5\n", "max_invalid_share: Input should be less than or equal to 1"),
        ("too_long: chop\n", "too_long: Input should be 'truncate', 'reject' or 'keep'"),
        ("settle_seconds: '2'\n", "settle_seconds: Input should be a valid number"),
        ("archive:\n  max_entries: 0\n", "archive.max_entries: Input should be greater than or equal to 1"),
    ],
)
def test_every_quests_yaml_field_is_constrained(home: Path, text: str, field: str) -> None:
    (home / "configs" / "quests.yaml").write_text(text)
    problems = [str(p) for p in validate_realm_configs(home / "configs")]
    assert any(field in p and "quests.yaml" in p for p in problems), problems


def test_validate_checks_every_file_under_configs(home: Path) -> None:
    configs = home / "configs"
    (configs / "quests.yml").write_text("max_retries: 2\n")  # misspelt: would be ignored
    (configs / "skills" / "notes.txt").write_text("hi")
    (configs / "accelerate" / "mine.yaml").write_text("num_processes: 0\n")
    (configs / "accelerate" / "tagged.yaml").write_text("x: !!python/object:os.system ls\n")
    (configs / ".hidden.yaml").write_text("whatever")  # dotfiles and editor leftovers are skipped
    (configs / "curriculum.yaml~").write_text("old")
    out = realm(home, "validate")
    assert out.returncode == 2
    errors = one_line(out.stderr)
    assert f"{configs / 'quests.yml'}: not a config file the realm reads" in errors
    assert f"{configs / 'skills' / 'notes.txt'}: not a .yaml file in skills/" in errors
    assert f"{configs / 'accelerate' / 'mine.yaml'}: num_processes: Input should be greater than" in errors
    assert f"{configs / 'accelerate' / 'tagged.yaml'}: refused: YAML tag" in errors
    assert "hidden" not in errors and "curriculum.yaml~" not in errors


def test_the_shipped_configs_and_a_valid_quests_yaml_pass(home: Path) -> None:
    (home / "configs" / "quests.yaml").write_text("max_retries: 0\nmax_invalid_share: 0.25\n")
    out = realm(home, "validate")
    assert out.returncode == 0 and "All configs valid" in out.stdout, out.stderr


def test_train_refuses_a_bad_config_before_writing_anything(home: Path) -> None:
    (home / "configs" / "quests.yaml").write_text("max_retries: -1\n")
    before = sorted(p.relative_to(home) for p in home.rglob("*"))
    out = realm(home, "train", "--no-ui", "--steps", "1")
    assert out.returncode == 2, out.stdout + out.stderr
    assert "quests.yaml: max_retries" in one_line(out.stderr)
    assert sorted(p.relative_to(home) for p in home.rglob("*")) == before  # no store, no campaign record
    assert not (home / "saves" / "realm.json").exists()


def test_the_game_refuses_a_bad_config_before_opening_the_store(home: Path) -> None:
    from realm_tui.ui.game import Game

    (home / "configs" / "accelerate" / "ddp.yaml").write_text("mixed_precision: fp64\n")
    with pytest.raises(ConfigError, match="mixed_precision"):
        Game.open(init_realm(home)[0])
    assert not (home / "saves" / "realm.json").exists()
    with pytest.raises(ConfigError, match="ddp.yaml"):
        load_realm_configs(home / "configs")
