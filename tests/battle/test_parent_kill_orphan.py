"""Issue 13, defect 8, end to end: kill -9 the parent of a headless battle. Its trainer notices,
saves a final checkpoint no parent will ever list, and exits; the next `realm train --no-ui`
adopts that checkpoint, says so, and resumes from it (nothing trained is lost, nothing leaks)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

from battle_kit import child_env, realm_cmd, run_json

from realm_tui.contract.manifest import is_valid_checkpoint
from realm_tui.paths import RealmPaths
from realm_tui.store import Store


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def test_the_trainers_final_save_after_a_parent_kill_is_adopted(tiny_realm: RealmPaths, popen_cleanup: list) -> None:
    proc = subprocess.Popen(
        realm_cmd(tiny_realm, "train", "--no-ui", "--json", "--hero", "tiny", "--steps", "100000"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(),
    )
    popen_cleanup.append(proc)
    assert proc.stdout is not None
    child_pid, saved = None, []
    for line in proc.stdout:
        event = json.loads(line)
        if event["event"] == "Hello":
            child_pid = event["pid"]
        if event["event"] == "CheckpointSaved":
            saved.append(event["step"])
        if event["event"] == "Step" and saved and event["step"] > saved[-1] + 1:
            break
    assert child_pid is not None
    os.kill(proc.pid, signal.SIGKILL)  # the parent: nobody will commit the trainer's final save
    proc.wait(30)
    try:
        deadline = time.monotonic() + 180
        while alive(child_pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not alive(child_pid), "the trainer did not leave after its parent died"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child_pid, signal.SIGKILL)

    with Store.open(tiny_realm.store_file, readonly=True) as store:
        listed = {Path(r.path).name: r.step for r in store.ledger.all()}
    on_disk = sorted(p for p in tiny_realm.checkpoints.iterdir() if p.name.startswith("checkpoint-"))
    unlisted = [p for p in on_disk if p.name not in listed]
    assert unlisted and all(is_valid_checkpoint(p) for p in unlisted)
    final = max(unlisted, key=lambda p: int(p.name.split("-")[1]))
    final_step = int(final.name.split("-")[1])
    assert final_step > max(listed.values())

    code, events = run_json(tiny_realm, "--steps", "2")
    assert code == 0
    text = "\n".join(e.get("text", "") for e in events if e["event"] == "Message")
    assert f"adopted {final.name}" in text
    first_step = next(e["step"] for e in events if e["event"] == "Step")
    assert first_step == final_step + 1
    assert not list(tiny_realm.checkpoints.glob(".tmp-*"))
