"""Import hygiene: the fast paths stay free of torch, transformers and textual."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("torch", "transformers", "peft", "accelerate", "bitsandbytes", "textual")


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


# ---------------------------------------------------------------- the child stands alone

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "realm_tui"
PARENT_SIDE = ("battle", "quests", "store", "ui", "cli", "services")
LIBRARIES_OF_THE_CHILD = ("torch", "transformers", "peft", "bitsandbytes", "accelerate")


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in a file, at module level or inside a function."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [(node.lineno, node.module)]
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def _package_of(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0]


def test_the_trainer_imports_nothing_of_the_parent() -> None:
    wrong = [
        f"{path.relative_to(PACKAGE)}:{line}: {module}"
        for path in sorted((PACKAGE / "trainer").rglob("*.py"))
        for line, module in _imports(path)
        if module.split(".")[:2] in (["realm_tui", side] for side in PARENT_SIDE)
    ]
    assert not wrong, wrong


def test_the_parent_imports_nothing_of_the_trainer() -> None:
    """The parent names child entry points by string (`contract.spawn.run_entry`, `-m` modules)."""
    wrong = [
        f"{path.relative_to(PACKAGE)}:{line}: {module}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if _package_of(path) != "trainer"
        for line, module in _imports(path)
        if module.startswith("realm_tui.trainer") or module == "realm_tui.trainer"
    ]
    assert not wrong, wrong


def test_torch_and_its_kin_are_imported_only_by_the_trainer() -> None:
    """Everywhere else they would load in the parent; `services/doctor.py` probes them inside a
    function (its guarded environment report)."""
    wrong = [
        f"{path.relative_to(PACKAGE)}:{line}: {module}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if _package_of(path) != "trainer" and path != PACKAGE / "services" / "doctor.py"
        for line, module in _imports(path)
        if module.split(".")[0] in LIBRARIES_OF_THE_CHILD
    ]
    assert not wrong, wrong
