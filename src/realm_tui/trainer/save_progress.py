"""A checkpoint in flight, as `CheckpointProgress` events (issue 11: a battle is never silent).

A save is the held-out loss pass over every source the battle trains (micro-batches: seconds
under load) and then the writes (the weights, the optimizer's state, the re-hash), each one call
that returns only when done: on a shared machine's slow disk one `torch.save` took seconds, and a
loaded first session went 8.4 s without a word before a checkpoint. So the save reports itself:
its first event at once, the val pass's micro-batches at most every `every_s`, each write as it
begins, and, from a small thread, the stage in hand again whenever nothing was sent for
`HEARTBEAT_S` (a write that takes long still shows the save moving).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType

from realm_tui.contract.protocol import CheckpointProgress, Event

HEARTBEAT_S = 1.0
"""While a save runs, the stage in hand is sent again when nothing was sent for this long."""


def serialized(emit: Callable[[Event], None]) -> Callable[[Event], None]:
    """`emit` behind a lock. The battle's events go through it: while a save runs, its heartbeat
    thread sends beside the loop (a mixer warning while it builds the val sets), and two threads
    must never write into the pipe at once."""
    lock = threading.Lock()

    def send(event: Event) -> None:
        with lock:
            emit(event)

    return send


class SaveProgress:
    """`with SaveProgress(step, emit, every_s) as progress:` around one save; `emit` must be safe
    to call from two threads (`serialized`)."""

    def __init__(self, step: int, emit: Callable[[Event], None], every_s: float) -> None:
        self.step, self._emit, self.every_s = step, emit, every_s
        self._lock = threading.Lock()
        self._current: CheckpointProgress | None = None
        self._sent_at: float | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._heartbeat, name="save-progress", daemon=True)

    def __enter__(self) -> SaveProgress:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._done.set()
        self._thread.join()

    def stage(self, name: str) -> None:
        """A stage begins (`writing weights`): sent unless something was sent under `every_s` ago."""
        self._send(CheckpointProgress(self.step, name))

    def batches(self, name: str) -> Callable[[int, int], None]:
        """A pass of micro-batches begins (`val sy`): the callback its loop calls after each one."""
        self.stage(name)

        def progress(done: int, total: int) -> None:
            self._send(CheckpointProgress(self.step, name, done, total))

        return progress

    def _send(self, event: CheckpointProgress | None) -> None:
        """Send `event` (None: the stage in hand again, from the heartbeat) unless too soon."""
        with self._lock:
            now = time.monotonic()
            if event is None:
                if self._current is None:
                    return
                current = self._current
                event = CheckpointProgress(self.step, current.stage, current.done, current.total)
                quiet = HEARTBEAT_S
            else:
                self._current, quiet = event, self.every_s
            if self._sent_at is None or now - self._sent_at >= quiet:  # the save's first event: at once
                self._sent_at = now
                self._emit(event)

    def _heartbeat(self) -> None:
        while not self._done.wait(HEARTBEAT_S / 4):
            self._send(None)
