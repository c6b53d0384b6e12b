"""Parent side of the trainer pipe: spawn the child, send commands, collect events.

The bridge never blocks for long: `events(timeout)` waits on the pipe and on the child's
sentinel together, so a dead child is noticed as soon as the OS reaps it.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
from multiprocessing.process import BaseProcess

from realm_tui.contract.protocol import Command, Error, ErrorKind, Event, Start, Stop, Stopped, StopReason, TrainJob
from realm_tui.contract.spawn import run_entry

TRAINER_ENTRY = "realm_tui.trainer.entry.battle"
"""The trainer child's entry module (`child_main(conn)`), imported in the child only."""


class TrainerBridge:
    """One trainer child process and the parent's end of its pipe."""

    def __init__(self) -> None:
        self._conn: multiprocessing.connection.Connection | None = None
        self._proc: BaseProcess | None = None
        self._finished = False
        self._started = False
        self.exitcode: int | None = None

    # ------------------------------------------------------------ lifecycle

    def spawn(self) -> None:
        """Start the child before its job is known: it imports torch and the trainer (most of a
        battle's start-up) while the parent still plans the battle; `start` then sends the job.
        A child that never gets one is ended by `discard`."""
        if self._proc is not None:
            return
        ctx = multiprocessing.get_context("spawn")
        parent_conn, child_conn = ctx.Pipe(duplex=True)
        # The child imports its entry by name: nothing of trainer/ is imported in this process.
        proc = ctx.Process(
            target=run_entry, args=(TRAINER_ENTRY, "child_main", child_conn), name="realm-trainer", daemon=False
        )
        proc.start()
        # Close our copy of the child's end, so the child's death shows up as EOF here.
        child_conn.close()
        self._conn, self._proc = parent_conn, proc

    def start(self, job: TrainJob) -> None:
        self.spawn()
        self._started = True
        self.send(Start(job))

    def discard(self) -> None:
        """End a child spawned ahead (`spawn`) that never got its job (the battle was refused):
        it has trained nothing, so it is killed rather than waited for."""
        if self._proc is None or self._started or self._finished:
            return
        self.kill()
        self._reap(timeout=5.0)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.is_alive() and not self._finished

    def send(self, command: Command) -> bool:
        """Send a command; False when the child is gone (the death is reported by `events`)."""
        if self._conn is None or self._finished:
            return False
        try:
            self._conn.send(command)
            return True
        except (BrokenPipeError, EOFError, OSError):
            return False

    def stop(self, reason: StopReason = StopReason.REQUESTED) -> bool:
        return self.send(Stop(reason=reason))

    # ------------------------------------------------------------ events

    def events(self, timeout: float = 0.1) -> list[Event]:
        """Events that arrived, waiting up to `timeout` for the first one.

        When the child has died without a `Stopped`, a fatal `Error` and a `Stopped` are
        synthesised so callers need a single code path.
        """
        if self._conn is None or self._proc is None or self._finished:
            return []
        out: list[Event] = []
        ready = multiprocessing.connection.wait([self._conn, self._proc.sentinel], timeout)
        if not ready:
            return out
        try:
            while self._conn.poll():
                out.append(self._conn.recv())
        except (EOFError, OSError):
            pass  # the child closed its end; the sentinel tells us how it ended
        if any(isinstance(e, Stopped) for e in out):
            self._reap(timeout=10.0)
            return out
        if self._proc.sentinel in ready or not self._proc.is_alive():
            # Drain anything written just before death, then report it.
            try:
                while self._conn.poll():
                    out.append(self._conn.recv())
            except (EOFError, OSError):
                pass
            if not any(isinstance(e, Stopped) for e in out):
                self._reap(timeout=1.0)
                code = self.exitcode
                how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
                out.append(Error(f"the trainer process died ({how})", fatal=True, kind=ErrorKind.CRASH))
                out.append(Stopped(step=-1, reason=StopReason.CRASHED))
            else:
                self._reap(timeout=10.0)
        return out

    def _reap(self, timeout: float) -> None:
        assert self._proc is not None
        self._proc.join(timeout)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(5.0)
        self.exitcode = self._proc.exitcode
        self._finished = True
        if self._conn is not None:
            self._conn.close()

    def kill(self) -> None:
        """Hard stop (tests, or a child that ignores Stop)."""
        if self._proc is not None and self._proc.is_alive() and self._proc.pid is not None:
            os.kill(self._proc.pid, 9)

    def close(self, grace: float = 30.0) -> None:
        """Ask for a graceful stop and wait; kill only after `grace` seconds."""
        if self._proc is None or self._finished:
            return
        self.stop(StopReason.CLOSING)
        self._proc.join(grace)
        self._reap(timeout=1.0)
