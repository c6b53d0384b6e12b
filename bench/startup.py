"""How fast the realm starts: `realm --help` and the game's first painted screen.

Prints wall-clock seconds over a few rounds (median) and whether torch was imported. Tests do not
time things (they must pass on a busy machine); this bench is where start-up speed is measured.

    python bench/startup.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PAINT_PROBE = """
import asyncio, json, sys, time
from realm_tui.cli.app import app as _cli  # the path `realm` takes
from realm_tui.ui.app import create_app
from realm_tui.ui.game import GameOptions

async def main():
    app = create_app({root!r}, GameOptions(inbox_poll_s=0))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        painted = time.time()
    print(json.dumps({{"painted": painted, "torch": "torch" in sys.modules}}))

asyncio.run(main())
"""


def time_help() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "realm_tui", "--help"], check=True, capture_output=True)
    return time.perf_counter() - started


def time_first_paint(root: Path) -> tuple[float, bool]:
    started = time.time()
    out = subprocess.run(
        [sys.executable, "-c", PAINT_PROBE.format(root=str(root))], check=True, capture_output=True, text=True
    )
    report = json.loads(out.stdout.strip().splitlines()[-1])
    return report["painted"] - started, bool(report["torch"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "realm"
        subprocess.run([sys.executable, "-m", "realm_tui", "init", str(root)], check=True, capture_output=True)
        helps, paints, torch_seen = [], [], False
        for _ in range(args.rounds):  # interleaved, so machine load hits both alike
            helps.append(time_help())
            paint, imported = time_first_paint(root)
            paints.append(paint)
            torch_seen |= imported
    print(f"realm --help      median {statistics.median(helps):.2f} s  (min {min(helps):.2f}, max {max(helps):.2f})")
    print(f"first paint       median {statistics.median(paints):.2f} s  (min {min(paints):.2f}, max {max(paints):.2f})")
    print(f"torch imported by the game before its first paint: {'YES' if torch_seen else 'no'}")


if __name__ == "__main__":
    main()
