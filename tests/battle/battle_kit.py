"""A tiny realm for battle tests: a ~100k-parameter hero, a short learnable quest."""

from __future__ import annotations

import contextlib
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from realm_tui.paths import RealmPaths
from realm_tui.services.init_realm import init_realm

TINY_NANO = {
    "hidden_size": 64,
    "num_layers": 2,
    "num_heads": 2,
    "num_kv_heads": 1,
    "head_dim": 32,
    "intermediate_size": 128,
    "max_position_embeddings": 512,
    "seed": 7,
}


def make_tiny_realm(root: Path, *, save_steps: int = 5, precision: str = "fp32") -> RealmPaths:
    realm, _ = init_realm(root)
    hero = yaml.safe_load((realm.configs / "heroes" / "dio-nano.yaml").read_text())
    hero["id"] = "tiny"
    hero["name"] = "Tiny"
    hero["model"]["nano"].update(TINY_NANO)
    hero["training_defaults"].update(
        {"batch_size": 8, "save_steps": save_steps, "max_length": 64, "precision": precision, "warmup_steps": 2}
    )
    hero["steps_per_level"] = 10
    (realm.configs / "heroes" / "tiny.yaml").write_text(yaml.safe_dump(hero, allow_unicode=True))
    rng = random.Random(0)
    lines = []
    pairs = [(a, b) for a in range(16) for b in range(16)]
    for a, b in rng.sample(pairs, 200):  # distinct: the board refuses a quest that is mostly duplicates
        messages = [{"role": "user", "content": f"{a:b}+{b:b}="}, {"role": "assistant", "content": f"{a + b:b}"}]
        lines.append(json.dumps({"messages": messages}))
    quest = realm.quests / "inbox" / "add.jsonl"
    quest.write_text("\n".join(lines) + "\n")
    settled = time.time() - 60  # the board only takes files that stopped changing a while ago
    os.utime(quest, (settled, settled))
    return realm


@pytest.fixture
def tiny_realm(tmp_path: Path) -> RealmPaths:
    return make_tiny_realm(tmp_path / "realm")


def realm_cmd(realm: RealmPaths, *args: str) -> list[str]:
    return [sys.executable, "-m", "realm_tui", "--home", str(realm.root), *args]


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({"HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"})
    return env


def run_json(realm: RealmPaths, *args: str, timeout: float = 600) -> tuple[int, list[dict[str, Any]]]:
    """Run `realm train --no-ui --json ...` to the end; returns exit code and parsed events.
    `timeout` is a hang guard (a busy machine makes a tiny battle take minutes), not a speed limit:
    past it the whole process tree (a launcher's ranks run in their own session) is killed and the
    test fails with what the battle and its ranks had written, to say where it hung."""
    proc = subprocess.Popen(
        realm_cmd(realm, "train", "--no-ui", "--json", "--hero", "tiny", *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(),
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_tree(proc.pid)
        stdout, stderr = proc.communicate()
        guard = f"the battle ran past its {timeout:.0f} s hang guard"
        pytest.fail(f"{guard}\nstdout:\n{stdout[-3000:]}\nstderr:\n{stderr[-6000:]}")
    events = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    assert events, stderr
    return proc.returncode, events


def kill_tree(pid: int) -> None:
    """Kill a process and everything it started, including children in their own sessions."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [*root.children(recursive=True), root]
    except psutil.NoSuchProcess:
        return
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()
    psutil.wait_procs(procs, timeout=30)


@pytest.fixture
def popen_cleanup() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
