"""Import hygiene: the fast paths stay free of torch, transformers and textual."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("torch", "transformers", "peft", "accelerate", "bitsandbytes", "textual", "wandb")


def _loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_help_imports_no_heavy_package() -> None:
    code = (
        "import sys\nsys.argv = ['realm', '--help']\nfrom realm_tui.cli.app import app\n"
        "try:\n    app()\nexcept SystemExit:\n    pass"
    )
    loaded = _loaded_after(code)
    assert not {m for m in loaded if m.split(".")[0] in HEAVY}


@pytest.mark.parametrize(
    "module",
    [
        "realm_tui.rules",
        "realm_tui.config",
        "realm_tui.config.realm_config",
        "realm_tui.store",
        "realm_tui.contract.protocol",
        "realm_tui.battle.bridge",
        "realm_tui.trainer",
        "realm_tui.trainer.entry.battle",
        "realm_tui.contract.manifest",
        "realm_tui.quests.validate",
        "realm_tui.skills.curriculum",
        "realm_tui.trainer.answer",
        "realm_tui.cli.skills",
        "realm_tui.cli.campaign",
        "realm_tui.services.records",
        "realm_tui.services.heroes",
        "realm_tui.services.sparring",
        "realm_tui.services.standings",
        "realm_tui.armory",
        "realm_tui.armory.optimizers",
        "realm_tui.contract",
        "realm_tui.contract.spawn",
        "realm_tui.contract.oracle",
        "realm_tui.contract.answer",
        "realm_tui.contract.job_json",
        "realm_tui.battle.launched",
        "realm_tui.battle.preflight",
        "realm_tui.services.oracle",
        "realm_tui.services.answerer",
    ],
)
def test_headless_modules_import_no_torch_or_textual(module: str) -> None:
    loaded = _loaded_after(f"import {module}")
    assert not {m for m in loaded if m.split(".")[0] in HEAVY}, module


def test_help_runs_as_console_script() -> None:
    out = subprocess.run([sys.executable, "-m", "realm_tui", "--help"], capture_output=True, text=True, check=True)
    for command in ("init", "doctor", "validate", "train"):
        assert command in out.stdout


def test_flags_show_no_value_type_in_help() -> None:
    """A flag takes no value: `--no-ui` shows no `<bool>` beside it, `--steps` still shows `<int…>`."""
    out = subprocess.run(
        [sys.executable, "-m", "realm_tui", "train", "--help"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": "120"},
    )
    assert "--no-ui" in out.stdout and "<int" in out.stdout
    assert "<bool>" not in out.stdout


PACKAGE = Path(__file__).resolve().parents[1] / "src" / "realm_tui"


def _imports(folder: str) -> list[tuple[str, str]]:
    """(file, imported module) for every import under src/realm_tui/<folder>, lazy ones included."""
    found = []
    for path in sorted((PACKAGE / folder).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found += [(path.name, node.module), *((path.name, f"{node.module}.{a.name}") for a in node.names)]
            elif isinstance(node, ast.Import):
                found += [(path.name, a.name) for a in node.names]
    return found


@pytest.mark.parametrize("folder", ["ui", "services"])
def test_the_ui_and_the_services_never_import_the_cli(folder: str) -> None:
    assert [(f, m) for f, m in _imports(folder) if m.startswith("realm_tui.cli")] == []


def test_only_the_entry_imports_the_cli_app() -> None:
    """Commands read the global options from typer's context (cli/common.py), not from cli/app.py."""
    assert [(f, m) for f, m in _imports("cli") if m.startswith("realm_tui.cli.app")] == []


def test_services_import_no_face_library() -> None:
    """Services return data and raise RealmError; typer, rich and textual belong to the faces."""
    faces = ("typer", "rich", "textual", "click")
    assert [(f, m) for f, m in _imports("services") if m.split(".")[0] in faces] == []


def test_screens_never_touch_the_store() -> None:
    """Screens read and write through the services the Game holds (records, campaigns, vault …)."""
    touches = [(f, m) for f, m in _imports("ui/screens") if m.startswith("realm_tui.store")]
    for path in sorted((PACKAGE / "ui" / "screens").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        attributes = [n for n in ast.walk(tree) if isinstance(n, ast.Attribute)]
        touches += [(path.name, ".store") for n in attributes if n.attr == "store"]
    assert touches == []
