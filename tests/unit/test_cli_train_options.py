"""`realm train --help` shows how a battle may end and where its metrics go; the game refuses
these headless flags with one line."""

from __future__ import annotations

import os
import subprocess
import sys


def realm(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "REALM_HOME"}
    env["COLUMNS"] = "200"  # one option per line in the help
    return subprocess.run(
        [sys.executable, "-m", "realm_tui", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_train_help_names_stop_when_and_report_to() -> None:
    out = realm("train", "--help")
    assert out.returncode == 0, out.stderr
    text = " ".join(out.stdout.split())
    assert "--stop-when [steps|plateau]" in text or "--stop-when <steps|plateau>" in text
    assert "--plateau-evals" in text and "(default 5)" in text
    assert "--report-to" in text and "pip install 'realm-tui[wandb]'" in text and "WANDB_MODE=offline" in text


def test_the_game_refuses_the_headless_flags(tmp_path) -> None:
    out = realm("--home", str(tmp_path), "train", "--stop-when", "plateau", "--report-to", "wandb")
    assert out.returncode != 0
    assert "--stop-when --report-to: only with --no-ui (headless)" in out.stderr
