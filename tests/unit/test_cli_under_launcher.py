"""`realm train` started by a launcher (torchrun, accelerate) refuses before it touches the realm."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from realm_tui.services.init_realm import init_realm


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under the realm with its size and mtime: nothing may be written."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def realm_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    realm, _ = init_realm(tmp_path_factory.mktemp("launcher") / "realm")
    quest = realm.root / "quests" / "inbox" / "q.jsonl"
    quest.parent.mkdir(parents=True, exist_ok=True)
    quest.write_text('{"messages": [{"role": "user", "content": "1+1"}, {"role": "assistant", "content": "2"}]}\n')
    os.utime(quest, (1, 1))  # settled long ago: a battle would pick it up at once
    return realm.root


def _train(root: Path, launcher_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "REALM_HOME")}
    env.update({"HF_HUB_OFFLINE": "1", **launcher_env})
    return subprocess.run(
        [sys.executable, "-m", "realm_tui", "--home", str(root), "train", "--no-ui", "--steps", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


@pytest.mark.parametrize(
    "launcher_env",
    [{"WORLD_SIZE": "2"}, {"WORLD_SIZE": "2", "RANK": "1", "LOCAL_RANK": "1"}, {"LOCAL_RANK": "0"}],
    ids=["world-size-2", "torchrun-rank-1", "local-rank"],
)
def test_train_under_a_launcher_refuses_and_writes_nothing(realm_root: Path, launcher_env: dict[str, str]) -> None:
    before = _snapshot(realm_root)
    out = _train(realm_root, launcher_env)
    assert out.returncode == 2, out.stdout + out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr  # one clear line, no traceback
    assert (
        "realm starts the launcher itself" in lines[0] and 'realm train --no-ui --launch "accelerate launch' in lines[0]
    )
    assert _snapshot(realm_root) == before
    assert not (realm_root / "saves" / "realm.json").exists()
