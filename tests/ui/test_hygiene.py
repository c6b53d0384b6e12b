"""The UI never imports torch (checked in a fresh process) and keeps modules small.

How fast the first screen paints is measured by bench/startup.py, not asserted here: a test that
times things fails on a busy machine."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import realm_tui.ui

UI_DIR = Path(realm_tui.ui.__file__).parent
HEAVY = ("torch", "transformers", "peft", "accelerate", "bitsandbytes")

PROBE = """
import asyncio, json, sys
sys.path.insert(0, {testdir!r})
from ui_testkit import DISK
from realm_tui.cli.app import app as _cli  # the path `realm` takes
from realm_tui.ui.app import create_app
from realm_tui.ui.game import GameOptions

async def main():
    app = create_app({root!r}, GameOptions(inbox_poll_s=0, disk_usage=lambda p: DISK))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        for key in "2345671":
            await pilot.press(key)
            await pilot.pause()
    print(json.dumps({{"modules": sorted(sys.modules)}}))

asyncio.run(main())
"""


def test_the_app_visits_every_screen_without_importing_torch(realm: object) -> None:
    root = str(realm.root)  # type: ignore[attr-defined]
    code = PROBE.format(testdir=str(Path(__file__).parent), root=root)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    heavy = sorted(m for m in report["modules"] if m.split(".")[0] in HEAVY)
    assert not heavy, heavy


def test_ui_modules_stay_under_400_lines() -> None:
    for path in UI_DIR.rglob("*.py"):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        assert lines < 400, f"{path.relative_to(UI_DIR)} has {lines} lines"


def test_oracle_worker_module_is_torch_free_at_import() -> None:
    code = (
        "import json, sys, realm_tui.trainer.entry.oracle, realm_tui.services.oracle\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    modules = json.loads(out.stdout.strip().splitlines()[-1])
    assert not [m for m in modules if m.split(".")[0] in (*HEAVY, "textual")]
