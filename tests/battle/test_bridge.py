"""The trainer bridge under faults: a dead child is reported fast; a dead parent leaves no orphan."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from battle_kit import child_env

from realm_tui.battle.bridge import TrainerBridge
from realm_tui.config.realm_config import load_hero
from realm_tui.contract.manifest import is_valid_checkpoint
from realm_tui.contract.protocol import Error, Step, Stopped, TrainJob
from realm_tui.paths import RealmPaths


def tiny_job(realm: RealmPaths, **overrides: object) -> TrainJob:
    hero = load_hero(realm.configs, "tiny")
    fields: dict[str, object] = {
        "realm_root": str(realm.root),
        "hero_id": "tiny",
        "hero": hero.model_dump(mode="json"),
        "quest_paths": (str(realm.quests / "inbox" / "add.jsonl"),),
        "checkpoints_dir": str(realm.checkpoints),
        "max_steps": 100000,
        "batch_size": 8,
        "max_length": 64,
        "save_steps": 100000,
        "precision": "fp32",
        **overrides,
    }
    return TrainJob(**fields)  # type: ignore[arg-type]


def is_gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return True
    return state in {"Z", "X"}


def test_dead_child_is_reported_within_seconds(tiny_realm: RealmPaths) -> None:
    bridge = TrainerBridge()
    bridge.start(tiny_job(tiny_realm))
    try:
        deadline = time.monotonic() + 120
        while not any(isinstance(e, Step) for e in bridge.events(0.5)):
            assert time.monotonic() < deadline, "the trainer never stepped"
        bridge.kill()
        killed = time.monotonic()
        seen: list[object] = []
        while not any(isinstance(e, Stopped) for e in seen):
            seen += bridge.events(0.1)
            # The bridge waits on the process sentinel, so the report is immediate (DESIGN §10: within
            # seconds); 30 s is a hang guard for a machine whose cores are all busy, not a speed figure.
            assert time.monotonic() - killed < 30.0, "a dead child must be reported, not waited out"
        errors = [e for e in seen if isinstance(e, Error)]
        assert errors and errors[-1].fatal and errors[-1].kind == "crash"
        assert not bridge.running
    finally:
        bridge.close(grace=1.0)


PARENT = textwrap.dedent(
    """
    import sys
    from battle_kit_parent import job
    from realm_tui.battle.bridge import TrainerBridge
    from realm_tui.contract.protocol import Step
    if __name__ == "__main__":  # the spawn start method re-imports this file in the child
        bridge = TrainerBridge()
        bridge.start(job())
        while True:
            for event in bridge.events(0.5):
                if isinstance(event, Step):
                    print(bridge.pid, flush=True)
    """
)


def test_parent_death_makes_the_child_checkpoint_and_exit(tiny_realm: RealmPaths, tmp_path: Path) -> None:
    (tmp_path / "battle_kit_parent.py").write_text(
        f"import pickle\ndef job():\n    return pickle.loads({__import__('pickle').dumps(tiny_job(tiny_realm))!r})\n"
    )
    (tmp_path / "parent.py").write_text(PARENT)
    env = child_env()
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), env.get("PYTHONPATH", "")])
    parent = subprocess.Popen([sys.executable, str(tmp_path / "parent.py")], stdout=subprocess.PIPE, text=True, env=env)
    child_pid = None
    try:
        assert parent.stdout is not None
        line = parent.stdout.readline()
        assert line.strip(), "the parent script failed before the trainer stepped"
        child_pid = int(line)
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 60
        while not is_gone(child_pid):
            assert time.monotonic() < deadline, "the orphaned trainer did not exit"
            time.sleep(0.2)
        saved = [p for p in tiny_realm.checkpoints.iterdir() if p.name.startswith("checkpoint-")]
        assert saved and all(is_valid_checkpoint(p) for p in saved)
    finally:
        if parent.poll() is None:
            parent.kill()
        if child_pid is not None and not is_gone(child_pid):
            os.kill(child_pid, signal.SIGKILL)
