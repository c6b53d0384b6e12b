"""Import hygiene: the fast paths stay free of torch, transformers and textual."""

from __future__ import annotations

import json
import subprocess
import sys

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
    ],
)
def test_headless_modules_import_no_torch_or_textual(module: str) -> None:
    loaded = _loaded_after(f"import {module}")
    assert not {m for m in loaded if m.split(".")[0] in HEAVY}, module


def test_help_runs_as_console_script() -> None:
    out = subprocess.run([sys.executable, "-m", "realm_tui", "--help"], capture_output=True, text=True, check=True)
    for command in ("init", "doctor", "validate", "train"):
        assert command in out.stdout
