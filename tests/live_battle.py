"""A real headless battle running in the background of a test (`tests/` is on pytest's
pythonpath): its JSON events are read by a thread (so the pipe never fills and stalls the battle),
and the test waits on those events, never on time."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from realm_tui.paths import RealmPaths

SRC = Path(__file__).resolve().parents[1] / "src"

Event = dict[str, Any]
WAIT_S = 300.0
"""How long an awaited event may take on a loaded 2-core machine before the test gives up."""


def battle_env() -> dict[str, str]:
    """This checkout's source first; offline, one thread, unbuffered (as tests/battle/battle_kit)."""
    env = {k: v for k, v in os.environ.items() if k != "REALM_HOME"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SRC), env.get("PYTHONPATH")) if p)
    env.update({"HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"})
    return env


class LiveBattle:
    """`realm train --no-ui --json --hero tiny …` started with :meth:`start`; stop with :meth:`kill`."""

    def __init__(self, realm: RealmPaths, stderr_file: Path, *args: str) -> None:
        self.realm = realm
        self.args = args
        self.stderr_file = stderr_file
        self.events: list[Event] = []
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self.proc: subprocess.Popen[str] | None = None

    def start(self, **popen: Any) -> LiveBattle:
        cmd = [sys.executable, "-m", "realm_tui", "--home", str(self.realm.root), "train", "--no-ui", "--json"]
        cmd += ["--hero", "tiny", *self.args]
        with open(self.stderr_file, "w") as err:
            # A session of its own: kill() ends the trainer child with its parent (no orphan left).
            self.proc = subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=err, text=True, env=battle_env(), start_new_session=True, **popen
            )
        threading.Thread(target=self._read, daemon=True).start()
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._changed:
                self.lines.append(line)
                if line.startswith("{"):
                    self.events.append(json.loads(line))
                self._changed.notify_all()
        with self._changed:
            self.lines.append("")  # EOF marker
            self._changed.notify_all()

    @property
    def ended(self) -> bool:
        return bool(self.lines) and self.lines[-1] == ""

    def wait_for(self, test: Callable[[Event], bool], what: str, after: int = 0) -> Event:
        """The first event from index ``after`` on that passes ``test``; fails if the battle ends first."""
        deadline = time.monotonic() + WAIT_S
        with self._changed:
            while True:
                for event in self.events[after:]:
                    if test(event):
                        return event
                if self.ended:
                    raise AssertionError(f"the battle ended before {what}: {self.tail()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {what} within {WAIT_S:.0f} s: {self.tail()}")
                self._changed.wait(min(left, 5.0))

    def wait_end(self, timeout: float = WAIT_S) -> int:
        assert self.proc is not None
        code = self.proc.wait(timeout)
        deadline = time.monotonic() + 30
        with self._changed:
            while not self.ended and time.monotonic() < deadline:
                self._changed.wait(1.0)
        return code

    def tail(self) -> str:
        text = "".join(self.lines[-15:])
        with contextlib.suppress(OSError):
            text += "\nstderr: " + self.stderr_file.read_text()[-3000:]
        return text

    def messages(self) -> str:
        return "\n".join(str(e.get("text", "")) for e in self.events if e.get("event") == "Message")

    def kill(self) -> None:
        """SIGKILL the battle's parent and everything it started (its trainer child)."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)
