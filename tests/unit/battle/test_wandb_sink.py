"""The W&B sink never asks for a login in the middle of a battle: online without an API key it says
one line and turns itself off (no prompt, no network); wandb is imported only when it opens."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("wandb", reason="the wandb extra is not installed (pip install 'realm-tui[wandb]')")

PROBE = """
import sys
from pathlib import Path
import realm_tui.battle.wandb_sink as sink
assert "wandb" not in sys.modules, "imported before the sink opens"
said = []
opened = sink.WandbSink(Path(sys.argv[1]), "c1", say=said.append)
print(repr((said, opened.active)))
"""


def test_online_without_a_key_is_one_line_and_no_prompt(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_") and k != "NETRC"}
    env["HOME"] = str(tmp_path / "home")  # no ~/.netrc: no key anywhere
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path / "runs")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    assert out.returncode == 0, out.stderr
    said, active = eval(out.stdout.strip().splitlines()[-1])
    assert said == ["W&B logs off: no API key (run `wandb login`, or set WANDB_MODE=offline); the battle goes on"]
    assert active is False
    assert "wandb: WARNING" not in out.stderr
