"""First session: the default game as a new player gets it, played headlessly, timed.

A fresh `realm init` in a temp folder (default hero, default curriculum, default configs, nothing
switched off), then the real `realm train --no-ui --json` as `s` would start it. The events are
read as they reach the parent's stdout, each stamped on arrival. Once a skill levels up the run
goes on for `--after` seconds, then stops with SIGINT (the graceful stop: checkpoint, then exit);
it also stops after `--minutes`. Prints:

- minutes to the first skill level-up (from the launch, and from the trainer's Hello);
- the longest stretch with no visible change: no Step, StepProgress (a long step's
  micro-batches), EvalProgress, EvalResult, CheckpointProgress (a save's val pass and writes) or
  CheckpointSaved event reaching the parent, from the
  first Step to the stop request (start-up, from the launch to the first Step, is printed on its
  own line);
- the share of wall time (first Step → stop request) spent in evals, from the trainer's own eval
  timings (its `eval … (N s)` lines);
- how long the stop took, and the machine's load (the machine is shared: absolute times grow
  with load; the lead reruns on a quiet machine).

Targets on 2 cores: first level-up ≤ 3 min, longest silent stretch ≤ 5 s, evals ≤ 15 %.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/first_session.py [--minutes 8] [--after 30] [--keep DIR]
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
import threading
import time
from pathlib import Path
from queue import Empty, Queue
from typing import Any

VISIBLE = {"Step", "StepProgress", "EvalProgress", "EvalResult", "CheckpointProgress", "CheckpointSaved"}
EVAL_SECONDS = re.compile(r"^eval (\S+) L(\d+) at step \d+: .*\((\d+(?:\.\d+)?) s\)$")
LEVEL_UP = re.compile(r"(\w+) level (\d+) mastered")
TARGETS = {"first level-up (min)": 3.0, "longest silent (s)": 5.0, "evals share (%)": 15.0}


def _reader(stream: Any, out: Queue[tuple[float, str | None]]) -> None:
    for line in stream:
        out.put((time.monotonic(), line))
    out.put((time.monotonic(), None))


def cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU seconds of a process so far (None when it is gone): steadier than wall
    time on a shared machine."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} / {five:.2f} / {fifteen:.2f} on {os.cpu_count()} CPUs"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=8.0, help="stop after this long in any case")
    parser.add_argument("--after", type=float, default=30.0, help="seconds to go on after the first level-up")
    parser.add_argument("--keep", type=Path, default=None, help="make the realm here and keep it")
    parser.add_argument("--quiet", action="store_true", help="no line per eval and notification")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="realm-first-"))
    root = args.keep or tmp / "realm"
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    realm = [sys.executable, "-m", "realm_tui", "--home", str(root)]
    subprocess.run([sys.executable, "-m", "realm_tui", "init", str(root)], check=True, env=env, capture_output=True)
    print(f"fresh realm in {root}; {load()}", flush=True)

    launched = time.monotonic()
    proc = subprocess.Popen([*realm, "train", "--no-ui", "--json"], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    lines: Queue[tuple[float, str | None]] = Queue()
    threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True).start()

    hello = first_step = first_level = stop_sent = stopped_at = None
    last_visible: float | None = None
    longest, longest_at = 0.0, ""
    eval_s = 0.0
    evals = 0
    step = 0
    level_note = ""
    trainer_pid: int | None = None
    level_cpu: float | None = None
    load_during: list[str] = []
    try:
        while True:
            try:
                at, line = lines.get(timeout=1.0)
            except Empty:
                at, line = time.monotonic(), ""
            if line is None:
                break
            event: dict[str, Any] = json.loads(line) if line.startswith("{") else {}
            kind = event.get("event", "")
            if kind == "Hello":
                hello, trainer_pid = at, int(event["pid"])
            elif kind == "Step":
                step = int(event["step"])
                first_step = first_step or at
            elif kind == "Log":
                found = EVAL_SECONDS.match(event.get("message", ""))
                if found:
                    eval_s += float(found.group(3))
                    evals += 1
                    if not args.quiet:
                        print(f"  {(at - launched) / 60:5.2f} min  {event['message']}", flush=True)
            elif kind == "Notification":
                if not args.quiet:
                    print(f"  {(at - launched) / 60:5.2f} min  ✨ {event['text']}", flush=True)
                found = LEVEL_UP.search(event["text"])
                if found and first_level is None:
                    first_level, level_note = at, f"{found.group(1)} L{found.group(2)} at step {step}"
                    level_cpu = cpu_seconds(trainer_pid)
            elif kind in ("Error", "Stopped"):
                print(f"  {kind}: {event.get('message') or event.get('reason')}", flush=True)
                if kind == "Stopped":
                    stopped_at = at
            if kind in VISIBLE and first_step is not None and stop_sent is None:
                if last_visible is not None and at - last_visible > longest:
                    longest, longest_at = at - last_visible, f"before a {kind} at step {step}"
                last_visible = at
            if len(load_during) < 1 and first_step is not None and at - first_step > 60:
                load_during.append(load())
            over = at - launched > args.minutes * 60
            done = first_level is not None and at - first_level >= args.after
            if stop_sent is None and (over or done):
                stop_sent = at
                if last_visible is not None and at - last_visible > longest:
                    longest, longest_at = at - last_visible, "before the stop"
                proc.send_signal(signal.SIGINT)
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    end = stopped_at or time.monotonic()
    if args.keep is None:
        shutil.rmtree(tmp, ignore_errors=True)

    measured = (stop_sent or end) - (first_step or launched)
    figures = {
        "first level-up (min)": (first_level - launched) / 60 if first_level else None,
        "longest silent (s)": longest,
        "evals share (%)": 100 * eval_s / measured if measured > 0 else None,
    }
    print(f"\nfirst session of the default game ({step} steps; {load()}; after 1 min: {', '.join(load_during)})")
    print(f"  start-up (launch → first step): {((first_step or end) - launched):.1f} s")
    if first_level is not None and hello is not None:
        cpu = f", {level_cpu:.0f} trainer CPU-s" if level_cpu is not None else ""
        print(f"  first level-up: {level_note}, {(first_level - hello) / 60:.2f} min after the trainer's Hello{cpu}")
    print(f"  longest silent stretch {longest:.1f} s ({longest_at}); {evals} evals took {eval_s:.1f} s")
    if stop_sent is not None:
        print(f"  stop (SIGINT → Stopped): {end - stop_sent:.1f} s")
    for name, value in figures.items():
        target = TARGETS[name]
        shown = "not reached" if value is None else f"{value:.2f}"
        verdict = "MISSED" if value is None or value > target else "met"
        print(f"  {name:>22}: {shown:>11}   (target ≤ {target:g}: {verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
