"""Entry point of the trainer subprocess: speaks the pipe protocol around `run_battle`.

Started by `battle.bridge` with the spawn context. The child never touches the store: it only
reports events. It stops gracefully (checkpoint first) on Stop, SIGINT/SIGTERM, or when the
parent goes away (EOF on the pipe).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import traceback
from multiprocessing.connection import Connection
from types import FrameType

from realm_tui.contract.protocol import Command, Error, ErrorKind, Event, Log, Start, Step, Stop, Stopped, StopReason


class PipeControl:
    """`TrainerControl` over the pipe: commands from the parent, plus signals and parent death."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._pending: list[Command] = []
        self.parent_gone = False

    def push(self, command: Command) -> None:
        self._pending.append(command)

    def poll(self, timeout: float = 0.0) -> list[Command]:
        commands, self._pending = self._pending, []
        if self.parent_gone:
            return commands
        try:
            wait = 0.0 if commands else timeout
            while self._conn.poll(wait):
                commands.append(self._conn.recv())
                wait = 0.0
        except (EOFError, OSError):
            # The parent died or closed its end: save what we have and leave, no orphan.
            self.parent_gone = True
            commands.append(Stop(reason=StopReason.PARENT_GONE))
        return commands


class ThrottledSender:
    """Sends events to the parent; Step events at most `rate` per second, the latest one kept.

    A held-back Step is flushed before any other event so the parent always sees the last
    step before a checkpoint or a stop.
    """

    def __init__(self, conn: Connection, rate: float) -> None:
        self._conn = conn
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._last_sent = 0.0
        self._held: Step | None = None
        self.broken = False

    def _send(self, event: Event) -> None:
        if self.broken:
            return
        try:
            self._conn.send(event)
        except (BrokenPipeError, EOFError, OSError):
            self.broken = True  # the parent is gone; the control sees EOF and stops us

    def __call__(self, event: Event) -> None:
        if isinstance(event, Step):
            now = time.monotonic()
            if now - self._last_sent >= self._interval or event.step >= event.max_steps:
                self._held = None
                self._last_sent = now
                self._send(event)
            else:
                self._held = event
            return
        self.flush()
        self._send(event)

    def flush(self) -> None:
        if self._held is not None:
            held, self._held = self._held, None
            self._last_sent = time.monotonic()
            self._send(held)


def child_main(conn: Connection) -> None:
    """Run in the spawned child: wait for Start, train, report, exit."""
    # Before torch loads libgomp: idle OpenMP threads sleep instead of spinning. On a busy 2-core
    # machine spinning threads fight for the cores: a dio-nano step took ~15x longer
    # (bench/first_session.py at load 12: 11 steps in 2.8 min spinning, 50 in 1.2 min passive).
    from realm_tui.trainer.threads import configure_malloc, configure_openmp

    configure_openmp()
    configure_malloc()  # a step's freed tensors are reused, not faulted in again (threads.py)
    control = PipeControl(conn)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        control.push(Stop(reason=StopReason.SIGNAL))

    # Installed before torch is imported so an early Ctrl-C is still graceful.
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    # The trainer's imports (torch, transformers: most of the start-up) before the job arrives: a
    # child spawned ahead (`TrainerBridge.spawn`) does them while the parent plans the battle. A
    # failure is reported below, where the battle imports the loop again.
    with contextlib.suppress(Exception):
        import realm_tui.trainer.loop  # noqa: F401

    try:
        first = conn.recv()
    except (EOFError, OSError):
        return
    if not isinstance(first, Start):
        conn.send(Error(f"expected Start, got {type(first).__name__}", fatal=True, kind=ErrorKind.ERROR))
        return
    job = first.job
    send = ThrottledSender(conn, job.step_events_per_s)
    try:
        from realm_tui.trainer.loop import run_battle

        run_battle(job, send, control)
    except BaseException as err:  # report any crash to the parent, then exit non-zero
        detail = "".join(traceback.format_exception_only(type(err), err)).strip()
        send(Error(f"trainer crashed: {detail}", fatal=True, kind=ErrorKind.CRASH))
        send(Log(traceback.format_exc(), level="debug"))
        send(Stopped(step=-1, reason=StopReason.ERROR))
        send.flush()
        conn.close()
        os._exit(1)
    send.flush()
    conn.close()
