"""Learning curve: how fast a fresh dio-nano masters BIN levels, through the real game.

A fresh realm in a temp folder (`realm init`), the shipped dio-nano, a curriculum of BIN only
(focus on bin, quest_share 0, nothing forged), then the real `realm train --no-ui --json`: the
trainer child evaluates, the parent's ProgressionKeeper decides the level-ups (mean of the last
3 evals at the training level >= the threshold) and sends the new curriculum. The run stops
(SIGINT, graceful) once --target-level is mastered or after --minutes.

Prints minutes (since the trainer said Hello, i.e. training time including evals) and steps to
master each level, the trainer's CPU seconds (the machine is shared: CPU time is the steadier
figure), and the eval accuracy curve.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/learning_curve.py [--target-level 3] [--minutes 25]
        [--set training_defaults.learning_rate=2e-3 ...] [--review-share 0.2] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from realm_tui.services.init_realm import init_realm
from realm_tui.store import Store

HERO = "dio-nano"


def _set(tree: dict[str, Any], dotted: str, raw: str) -> None:
    *path, last = dotted.split(".")
    for key in path:
        tree = tree.setdefault(key, {})
    tree[last] = yaml.safe_load(raw)


def prepare(root: Path, sets: list[str], review_share: float | None) -> Path:
    realm, _ = init_realm(root)
    hero_file = realm.configs / "heroes" / f"{HERO}.yaml"
    hero = yaml.safe_load(hero_file.read_text(encoding="utf-8"))
    hero["idle"]["forge_count"] = 0  # BIN from the curriculum only: no forged quest
    hero["steps_per_level"] = 100_000
    for item in sets:
        key, _, value = item.partition("=")
        _set(hero, key, value)
    hero_file.write_text(yaml.safe_dump(hero, allow_unicode=True, sort_keys=False), encoding="utf-8")
    cur_file = realm.configs / "curriculum.yaml"
    curriculum = yaml.safe_load(cur_file.read_text(encoding="utf-8"))
    curriculum.update({"strategy": "focus", "focus_skill": "bin", "quest_share": 0.0})
    curriculum["skills"] = {"bin": {"weight": 1.0, "enabled": True}, "sy": {"weight": 1.0, "enabled": False}}
    if review_share is not None:
        curriculum["review_share"] = review_share
    cur_file.write_text(yaml.safe_dump(curriculum, sort_keys=False), encoding="utf-8")
    return realm.root


def cpu_seconds(pid: int | None) -> float | None:
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target-level", type=int, default=3)
    parser.add_argument("--minutes", type=float, default=25.0)
    parser.add_argument("--set", action="append", default=[], help="hero key=value, e.g. training_defaults.lr=1e-3")
    parser.add_argument("--review-share", type=float, default=None)
    parser.add_argument("--keep", type=Path, default=None, help="keep the realm in this folder")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="realm-curve-"))
    root = prepare(args.keep or tmp / "realm", args.set, args.review_share)
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1", OMP_WAIT_POLICY="PASSIVE")
    cmd = [sys.executable, "-m", "realm_tui", "--home", str(root), "train", "--no-ui", "--json", "--hero", HERO]
    proc = subprocess.Popen([*cmd, "--steps", "1000000"], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    hello_at: float | None = None
    pid: int | None = None
    step = 0
    curve: list[tuple[float, int, int, float, int]] = []
    mastered: dict[int, tuple[int, float, float | None]] = {}
    started = time.time()
    stopping = False
    try:
        for line in proc.stdout:
            if not line.startswith("{"):
                continue
            event = json.loads(line)
            kind = event["event"]
            now = time.time()
            if kind == "Hello":
                hello_at, pid = now, int(event["pid"])
                print(f"trainer pid {pid}: {event['parameters']:,} parameters, {event['precision']}", flush=True)
            elif kind == "Step":
                step = int(event["step"])
            elif kind == "EvalResult" and hello_at is not None:
                minutes = (now - hello_at) / 60
                curve.append((minutes, event["step"], event["level"], event["accuracy"], event["total"]))
                tag = " (re-test)" if event.get("request_id") else ""
                print(
                    f"{minutes:6.2f} min  step {event['step']:5d}  L{event['level']}  "
                    f"{event['accuracy']:6.1%} of {event['total']}{tag}",
                    flush=True,
                )
            elif kind == "Notification":
                print(f"  ✨ {event['text']}", flush=True)
                found = re.search(r"BIN level (\d+) mastered", event["text"])
                if found and hello_at is not None:
                    level = int(found.group(1))
                    mastered[level] = (curve[-1][1] if curve else step, (now - hello_at) / 60, cpu_seconds(pid))
            elif kind in ("Error", "Stopped"):
                print(f"  {kind}: {event.get('message') or event.get('reason')}", flush=True)
            over_time = hello_at is not None and now - hello_at > args.minutes * 60
            if not stopping and (args.target_level in mastered or over_time):
                stopping = True
                proc.send_signal(signal.SIGINT)
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    wall = (time.time() - started) / 60

    with Store.open(root / "saves" / "realm.json", readonly=True) as store:
        campaigns = store.campaigns.by_hero(HERO)  # the newest (it may have maxed out: not "active")
        transitions = campaigns[-1].transitions if campaigns else []
        status = campaigns[-1].status if campaigns else "-"
    print("\nlevel  steps  minutes  trainer CPU s  mean of last 3 evals")
    for t in transitions:
        level = int(t["to"])
        steps, minutes, cpu = mastered.get(level, (t["step"], float("nan"), None))
        cpu_text = f"{cpu:13.0f}" if cpu is not None else f"{'-':>13}"
        print(f"  L{level}  {t['step']:5d}  {minutes:7.2f}  {cpu_text}  {t['accuracy']:.1%}")
    if not transitions:
        print("  (no level mastered)")
    seconds_per_step = (curve[-1][0] * 60 / curve[-1][1]) if curve and curve[-1][1] else float("nan")
    print(f"\n{step} steps, {seconds_per_step:.2f} s/step including evals; wall {wall:.1f} min in all")
    print(f"campaign status at the end: {status}")
    if args.keep is None:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
