"""Stop latency: how long `x`/Ctrl-C takes to reach idle while a long eval is in flight.

A fresh realm in a temp folder (`realm init`), the shipped dio-nano, a curriculum of SY only with
a long eval (`eval_samples_per_level` 256, an eval every few steps), then the real
`realm train --no-ui --json`. Once the eval reports progress (`EvalProgress` with some problems
done) the bench sends SIGINT, as Ctrl-C does (the game's `x` sends the same Stop), and prints the
seconds until the trainer's `Stopped` event and until the process exits, whether the eval was cut
short and the checkpoint saved. Target (issue 11): idle within 10 s.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/stop_latency.py [--every 3] [--samples 256] [--after 1]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from realm_tui.services.init_realm import init_realm

HERO = "dio-nano"


def prepare(root: Path, every: int, samples: int) -> Path:
    realm, _ = init_realm(root)
    hero_file = realm.configs / "heroes" / f"{HERO}.yaml"
    hero = yaml.safe_load(hero_file.read_text(encoding="utf-8"))
    hero["idle"]["forge_count"] = 0
    hero["training_defaults"]["eval_every_steps"] = every
    hero_file.write_text(yaml.safe_dump(hero, allow_unicode=True, sort_keys=False), encoding="utf-8")
    sy_file = realm.configs / "skills" / "sy.yaml"
    sy = yaml.safe_load(sy_file.read_text(encoding="utf-8"))
    sy["eval_samples_per_level"] = samples
    sy_file.write_text(yaml.safe_dump(sy, allow_unicode=True, sort_keys=False), encoding="utf-8")
    cur_file = realm.configs / "curriculum.yaml"
    curriculum = yaml.safe_load(cur_file.read_text(encoding="utf-8"))
    curriculum.update({"strategy": "focus", "focus_skill": "sy", "quest_share": 0.0})
    curriculum["skills"] = {"bin": {"weight": 1.0, "enabled": False}, "sy": {"weight": 1.0, "enabled": True}}
    cur_file.write_text(yaml.safe_dump(curriculum, sort_keys=False), encoding="utf-8")
    return realm.root


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--every", type=int, default=3, help="eval every N steps")
    parser.add_argument("--samples", type=int, default=256, help="SY eval problems")
    parser.add_argument("--after", type=int, default=1, help="stop once the eval has this many problems done")
    args = parser.parse_args()
    root = prepare(Path(tempfile.mkdtemp(prefix="realm-stop-")) / "realm", args.every, args.samples)
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1", OMP_WAIT_POLICY="PASSIVE")
    cmd = [sys.executable, "-m", "realm_tui", "--home", str(root), "train", "--no-ui", "--json", "--hero", HERO]
    proc = subprocess.Popen([*cmd, "--steps", "1000000"], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    sent_at: float | None = None
    stopped_at: float | None = None
    cut: dict | None = None
    saved_after = False
    progress = 0
    try:
        for line in proc.stdout:
            if not line.startswith("{"):
                continue
            event = json.loads(line)
            kind, now = event["event"], time.monotonic()
            if kind == "EvalProgress":
                progress += 1
                print(f"  eval {event['skill']} L{event['level']}: {event['done']}/{event['total']}", flush=True)
                if event["cut_short"]:
                    cut = event
                elif sent_at is None and event["done"] >= args.after:
                    sent_at = time.monotonic()
                    proc.send_signal(signal.SIGINT)
            elif kind == "CheckpointSaved" and sent_at is not None:
                saved_after = True
            elif kind == "Stopped":
                stopped_at = now
                print(f"  Stopped: {event['reason']} at step {event['step']}", flush=True)
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    exited_at = time.monotonic()
    if sent_at is None or stopped_at is None:
        print("no eval progress seen, or no Stopped event: nothing measured")
        return 1
    print(f"progress events: {progress}")
    print(f"stop → Stopped event: {stopped_at - sent_at:.1f} s; → process exit: {exited_at - sent_at:.1f} s")
    print(f"eval cut short: {cut is not None}" + (f" at {cut['done']}/{cut['total']}" if cut else ""))
    print(f"checkpoint saved after the stop: {saved_after}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
