"""Run a child process that speaks JSON lines on stdout, and hand each object line to the caller.

The export and the archaeology children (`trainer/entry/…`) load torch; the game never does, so it
starts them with `python -m …` and follows what they say. No textual and no torch here: callers
are the Vault's worker threads and the CLI.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

POLL_S = 0.2
"""How often a waiting caller's `cancelled()` is asked."""


class ChildCancelled(Exception):
    """`cancelled()` said yes: the child was killed."""


@dataclass(frozen=True)
class ChildExit:
    code: int
    other: tuple[str, ...]
    """The lines that were not JSON objects (tracebacks, warnings), for a reason when it failed."""

    def reason(self, said: str | None, what: str) -> str:
        """The child's own error line, else its last other line, else its exit code."""
        return said or (self.other[-1] if self.other else f"the {what} child exited with code {self.code}")


def _pump(stream: IO[str], into: queue.SimpleQueue[str | None]) -> None:
    for line in stream:
        into.put(line)
    into.put(None)


def json_object(line: str) -> dict[str, Any] | None:
    try:
        said = json.loads(line)
    except ValueError:
        return None
    return said if isinstance(said, dict) else None


def follow_child(
    cmd: list[str],
    on_object: Callable[[dict[str, Any]], object],
    *,
    cancelled: Callable[[], bool] = lambda: False,
    cwd: Path | None = None,
    name: str = "child-output",
) -> ChildExit:
    """Run `cmd` to its end, calling `on_object` for each JSON object it prints; `ChildCancelled`
    (the child killed) as soon as `cancelled()` is true."""
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=str(cwd) if cwd else None,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None  # stdout=PIPE
    lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
    threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True, name=name).start()
    other: list[str] = []
    while True:
        if cancelled():
            proc.kill()
            proc.wait()
            raise ChildCancelled
        try:
            line = lines.get(timeout=POLL_S)
        except queue.Empty:
            continue
        if line is None:
            break
        said = json_object(line)
        if said is not None:
            on_object(said)
        elif line.strip():
            other.append(line.rstrip())
    return ChildExit(proc.wait(), tuple(other))
