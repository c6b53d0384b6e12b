"""Run the `realm` CLI as a user would: a subprocess on one realm folder (shared by test folders;
`tests/` is on pytest's pythonpath)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def realm_cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`realm --home HOME ARGS…` from this checkout's source; REALM_HOME of the caller ignored."""
    env = {k: v for k, v in os.environ.items() if k != "REALM_HOME"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SRC), env.get("PYTHONPATH")) if p)
    return subprocess.run(
        [sys.executable, "-m", "realm_tui", "--home", str(home), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
