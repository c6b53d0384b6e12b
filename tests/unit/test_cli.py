"""The `realm` CLI as a user runs it: real subprocesses, a real realm folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def realm(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "REALM_HOME"}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "realm_tui", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        timeout=120,
    )


@pytest.fixture(scope="module")
def new_realm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("realm") / "my-realm"
    out = realm("init", str(root))
    assert out.returncode == 0, out.stderr
    return root


def test_init_lays_out_the_realm(new_realm: Path) -> None:
    for sub in (
        "configs/heroes",
        "configs/memory_profiles",
        "quests/inbox",
        "quests/queue/high",
        "quests/queue/normal",
        "quests/queue/low",
        "quests/done",
        "quests/failed",
        "quests/modules",
        "saves",
    ):
        assert (new_realm / sub).is_dir(), sub
    assert (new_realm / "configs/heroes/dio-nano.yaml").is_file()


def test_init_keeps_existing_configs(new_realm: Path) -> None:
    hero = new_realm / "configs/heroes/dio-nano.yaml"
    text = hero.read_text()
    hero.write_text(text + "\n# mine\n")
    assert realm("init", str(new_realm)).returncode == 0
    assert hero.read_text().endswith("# mine\n")
    hero.write_text(text)


def test_version() -> None:
    out = realm("--version")
    assert out.returncode == 0 and out.stdout.startswith("realm ")


def test_validate_ok_via_home_and_env(new_realm: Path, tmp_path: Path) -> None:
    assert realm("--home", str(new_realm), "validate").returncode == 0
    assert realm("validate", env={"REALM_HOME": str(new_realm)}).returncode == 0
    assert realm("validate", cwd=new_realm).returncode == 0


def test_not_a_realm_says_how_to_make_one(tmp_path: Path) -> None:
    out = realm("validate", cwd=tmp_path)
    assert out.returncode == 2
    assert "realm init" in out.stderr and "Traceback" not in out.stderr


def test_bad_config_is_one_line_exit_2(new_realm: Path) -> None:
    hero = new_realm / "configs/heroes/dio-nano.yaml"
    text = hero.read_text()
    try:
        hero.write_text(text + "\nsurprise_key: 1\n")
        out = realm("--home", str(new_realm), "validate")
        assert out.returncode == 2
        lines = [line for line in out.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and "dio-nano.yaml" in lines[0] and "surprise_key" in lines[0]
        assert "Traceback" not in out.stderr
    finally:
        hero.write_text(text)


def test_doctor_reports_without_gpu(new_realm: Path) -> None:
    out = realm("--home", str(new_realm), "doctor")
    assert "Python" in out.stdout and "torch" in out.stdout and "GPU" in out.stdout
    assert out.returncode == 0, out.stdout


def test_train_flags_without_no_ui_are_refused_not_dropped(new_realm: Path) -> None:
    """`realm train --steps 3 --hero dio` used to open the game and silently ignore both flags."""
    before = sorted(p.relative_to(new_realm) for p in new_realm.rglob("*"))
    out = realm("--home", str(new_realm), "train", "--steps", "3", "--hero", "dio")
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "realm: --hero --steps: only with --no-ui (headless); the game (realm train without --no-ui) takes "
        "its settings from the Armory, the Quest Board and the campaign"
    ]
    assert sorted(p.relative_to(new_realm) for p in new_realm.rglob("*")) == before
