"""Run `python -m realm_tui.trainer.entry.archaeology` in a child process and follow its JSON lines.

Reading every weight of a checkpoint needs torch and safetensors; the game never imports them, so
the work runs in a child whose `{"stage"}`, `{"progress", "total"}`, `{"result"}` and `{"error"}`
lines are followed here (as `export_child` follows the export). No textual and no torch here.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from realm_tui.errors import RealmError

ENTRY = "realm_tui.trainer.entry.archaeology"
POLL_S = 0.2
"""How often a waiting computation checks whether it was cancelled."""


class ArchaeologyFailed(RealmError):
    """The archaeology child failed or was cancelled; the message is its one-line reason."""


@dataclass(frozen=True)
class Progress:
    stage: str
    done: int = 0
    total: int = 0


ProgressHook = Callable[[Progress], object]


def archaeology_command(folder: Path, against: Path | None) -> list[str]:
    cmd = [sys.executable, "-m", ENTRY, str(folder)]
    return [*cmd, "--against", str(against)] if against is not None else cmd


def _pump(stream: Any, into: queue.SimpleQueue[str | None]) -> None:
    for line in stream:
        into.put(line)
    into.put(None)


def run_archaeology_child(
    folder: Path,
    against: Path | None = None,
    *,
    on_progress: ProgressHook | None = None,
    cancelled: Callable[[], bool] = lambda: False,
) -> dict[str, Any]:
    """The child's `result` for `folder` (and the drift from `against`); ArchaeologyFailed if not."""
    if on_progress is not None:
        on_progress(Progress("starting the archaeology child (it loads torch)"))
    proc = subprocess.Popen(
        archaeology_command(folder, against),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
    threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True, name="archaeology-output").start()
    result: dict[str, Any] | None = None
    error: str | None = None
    other: list[str] = []
    stage = "starting"
    while True:
        if cancelled():
            proc.kill()
            proc.wait()
            raise ArchaeologyFailed("cancelled")
        try:
            line = lines.get(timeout=POLL_S)
        except queue.Empty:
            continue
        if line is None:
            break
        said = _json_object(line)
        if said is None:
            if line.strip():
                other.append(line.rstrip())
            continue
        if "stage" in said:
            stage = str(said["stage"])
            if on_progress is not None:
                on_progress(Progress(stage))
        if "progress" in said and on_progress is not None:
            on_progress(Progress(stage, int(said["progress"]), int(said.get("total", 0))))
        if isinstance(said.get("result"), dict):
            result = said["result"]
        error = str(said["error"]) if "error" in said else error
    code = proc.wait()
    if code == 0 and result is not None:
        return result
    raise ArchaeologyFailed(error or (other[-1] if other else f"the archaeology child exited with code {code}"))


def _json_object(line: str) -> dict[str, Any] | None:
    try:
        said = json.loads(line)
    except ValueError:
        return None
    return said if isinstance(said, dict) else None
