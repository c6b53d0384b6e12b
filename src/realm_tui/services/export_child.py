"""Run `python -m realm_tui.trainer.entry.export` in a child process and follow its JSON lines.

Merging a LoRA adapter loads torch, transformers and peft; the game and `realm vault export`
never import them, so the merge runs in a child. No textual and no torch here: the Vault screen
calls this from a worker thread, the CLI calls it directly.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

POLL_S = 0.2
"""How often a waiting export checks whether it was cancelled."""


class ExportFailed(Exception):
    """The export child failed; the message is its one-line reason."""


def export_command(checkpoint: Path, out: Path, merge: bool, base: Path | None = None) -> list[str]:
    cmd = [sys.executable, "-m", "realm_tui.trainer.entry.export", str(checkpoint), str(out)]
    if not merge:
        cmd.append("--no-merge")
    if base is not None:
        cmd += ["--base", str(base)]
    return cmd


def _pump(stream: object, into: queue.SimpleQueue[str | None]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        into.put(line)
    into.put(None)


def run_export_child(
    checkpoint: Path,
    out: Path,
    merge: bool,
    *,
    base: Path | None = None,
    on_stage: Callable[[str], object] | None = None,
    cancelled: Callable[[], bool] = lambda: False,
    cwd: Path | None = None,
) -> Path:
    """Export `checkpoint` to `out` in a child; the written folder, or `ExportFailed` with the reason.

    `on_stage` hears each stage the child announces; `cancelled()` true kills the child (its
    temporary folder is the only thing left, under the `.tmp-` prefix that nothing reads).
    """
    proc = subprocess.Popen(
        export_command(checkpoint, out, merge, base),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=str(cwd) if cwd else None,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
    threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True, name="export-output").start()
    done: str | None = None
    error: str | None = None
    other: list[str] = []
    while True:
        if cancelled():
            proc.kill()
            proc.wait()
            raise ExportFailed("export cancelled")
        try:
            line = lines.get(timeout=POLL_S)
        except queue.Empty:
            continue
        if line is None:
            break
        try:
            said = json.loads(line)
        except ValueError:
            said = None
        if not isinstance(said, dict):
            if line.strip():
                other.append(line.rstrip())
            continue
        if "stage" in said and on_stage is not None:
            on_stage(str(said["stage"]))
        done = str(said["done"]) if "done" in said else done
        error = str(said["error"]) if "error" in said else error
    code = proc.wait()
    if code == 0 and done is not None:
        return Path(done)
    raise ExportFailed(error or (other[-1] if other else f"the export child exited with code {code}"))
