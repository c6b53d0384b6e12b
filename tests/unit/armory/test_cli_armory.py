"""`realm armory …` commands, run through typer's test runner on a copy of the shipped realm."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from realm_tui.cli.armory import armory_app

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    root = typer.Typer()
    root.command("noop")(lambda: None)  # a second command keeps `armory` a sub-command
    root.add_typer(armory_app, name="armory")
    return root


@pytest.fixture
def realm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(ROOT / "configs", tmp_path / "configs")
    (tmp_path / "quests").mkdir()
    (tmp_path / "saves").mkdir()
    monkeypatch.setenv("REALM_HOME", str(tmp_path))
    return tmp_path


def run(app: typer.Typer, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["armory", *args], env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_profiles_lists_every_profile(app: typer.Typer, realm: Path) -> None:
    code, out = run(app, "profiles")
    assert code == 0, out
    for pid in ("cpu_tiny", "24gb_qlora", "24gb_galore"):
        assert pid in out


def test_suggest_explains(app: typer.Typer, realm: Path) -> None:
    code, out = run(app, "suggest", "--model-size", "8", "--vram", "24")
    assert code == 0, out
    assert "24gb_qlora" in out and "Why:" in out and "Passed over:" in out
    code, out = run(app, "suggest", "--model-size", "4", "--vram", "24", "--prefer", "galore")
    assert code == 0 and "24gb_galore" in out


def test_vram_breakdown(app: typer.Typer, realm: Path) -> None:
    code, out = run(app, "vram", "--hero", "ojas")
    assert code == 0, out
    for part in ("weights", "gradients", "optimizer state", "activations", "overhead", "total (VRAM)", "CPU-side"):
        assert part in out
    code, out = run(app, "vram", "--hero", "dio-nano", "--batch", "8", "--seq-len", "128")
    assert code == 0 and "total (RAM)" in out and "batch 8 × 128" in out
    code, out = run(app, "vram", "--hero", "dio", "--profile", "24gb_lora", "--precision", "bf16")
    assert code == 0 and "24gb_lora" in out


def test_vram_warns_about_settings_that_cannot_train(app: typer.Typer, realm: Path) -> None:
    cases = {
        ("--hero", "dio-nano", "--profile", "24gb_full_small", "--optimizer", "galore_adamw"): "needs a GaLore profile",
        ("--hero", "dio", "--profile", "24gb_lora", "--optimizer", "muon"): "it needs method full, not lora",
        ("--hero", "dio-nano", "--profile", "24gb_qlora", "--batch", "32"): "24gb_qlora's max_batch_size 1",
    }
    for args, problem in cases.items():
        code, out = run(app, "vram", *args)
        assert code == 0, out  # still an estimate, with the warning under the table
        assert "total (" in out and "would be refused" in out and problem in out, args
        assert out.index("would be refused") > out.index("total ("), args
    code, out = run(app, "vram", "--hero", "dio-nano")
    assert code == 0 and "refused" not in out


def test_vram_refuses_bad_input(app: typer.Typer, realm: Path) -> None:
    from realm_tui.errors import InputError

    result = CliRunner().invoke(app, ["armory", "vram", "--hero", "dio", "--precision", "fp16"])
    assert isinstance(result.exception, InputError)
    result = CliRunner().invoke(app, ["armory", "vram", "--hero", "nobody"])
    assert result.exception is not None and "unknown hero" in str(result.exception)


def test_check(app: typer.Typer, realm: Path) -> None:
    code, out = run(app, "check", "--hero", "dio-nano")
    assert code == 0 and "ready for battle" in out
    code, out = run(app, "check", "--hero", "dio-nano", "--batch", "512")
    assert code == 2 and "max_batch_size" in out


def test_importing_the_cli_loads_no_torch() -> None:
    code = (
        "import json, sys\nimport realm_tui.cli.armory, realm_tui.armory, realm_tui.armory.optimizers\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    heavy = {"torch", "transformers", "peft", "bitsandbytes", "galore_torch", "textual", "rich"}
    assert not {m for m in loaded if m.split(".")[0] in heavy}
