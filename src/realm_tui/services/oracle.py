"""Parent side of the Oracle: one spawned child that loads a hero and streams answers.

Generation never runs in the UI process (which must not import torch) nor in the trainer: the
battle keeps its process and the oracle child uses one torch thread.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
from collections.abc import Callable
from dataclasses import replace
from multiprocessing.process import BaseProcess
from typing import Any

from realm_tui.contract.oracle import (
    OracleAsk,
    OracleCancel,
    OracleChunk,
    OracleCommand,
    OracleEvent,
    OracleLoad,
    OracleLoaded,
)
from realm_tui.contract.spawn import entry_point

OracleTarget = Callable[[Any], None]
"""The child's entry point (`oracle_main`; tests pass a fake one)."""

oracle_main: OracleTarget = entry_point("realm_tui.trainer.entry.oracle", "oracle_main")
"""The real Oracle child, `realm_tui.trainer.entry.oracle.oracle_main`, named by string: the
module is imported in the spawned child only."""


class OracleDied(Exception):
    pass


class OracleClient:
    """Starts the oracle child on demand and speaks to it; thread-compatible (one reader)."""

    def __init__(self, target: OracleTarget = oracle_main) -> None:
        self._target = target
        self._conn: multiprocessing.connection.Connection | None = None
        self._proc: BaseProcess | None = None
        self.loaded: OracleLoad | None = None
        """What the child was last asked to load."""

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.is_alive()

    def _ensure(self) -> None:
        if self.alive:
            return
        self.close()
        ctx = multiprocessing.get_context("spawn")
        parent_conn, child_conn = ctx.Pipe(duplex=True)
        proc = ctx.Process(target=self._target, args=(child_conn,), name="realm-oracle", daemon=True)
        proc.start()
        child_conn.close()
        self._conn, self._proc = parent_conn, proc
        self.loaded = None

    def send(self, command: OracleCommand) -> None:
        self._ensure()
        assert self._conn is not None
        try:
            self._conn.send(command)
        except (BrokenPipeError, EOFError, OSError) as err:
            raise OracleDied(f"the oracle process is gone ({err})") from err
        if isinstance(command, OracleLoad):
            self.loaded = command

    def load(self, command: OracleLoad) -> bool:
        """Ask the child to load a hero/checkpoint; False when that one is loaded already.

        `threads` is left out of the comparison: it follows whether a battle runs, and a battle
        starting or stopping between two questions must not reload the model.
        """
        if self.alive and self.loaded is not None and replace(self.loaded, threads=command.threads) == command:
            return False
        self.send(command)
        return True

    def ask(self, request: OracleAsk) -> None:
        self.send(request)

    def cancel(self) -> None:
        if self.alive:
            self.send(OracleCancel())

    def events(self, timeout: float = 0.1) -> list[OracleEvent]:
        """Events that arrived, waiting up to `timeout`; raises OracleDied when the child died."""
        if self._conn is None or self._proc is None:
            return []
        ready = multiprocessing.connection.wait([self._conn, self._proc.sentinel], timeout)
        out: list[OracleEvent] = []
        try:
            while self._conn.poll():
                out.append(self._conn.recv())
        except (EOFError, OSError):
            pass
        if self._proc.sentinel in ready and not out:
            code = self._proc.exitcode
            self.close()
            raise OracleDied(f"the oracle process died (exit code {code})")
        return out

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        if self._proc is not None:
            self._proc.join(2.0)
            if self._proc.is_alive():
                self._proc.kill()
                self._proc.join(2.0)
        self._conn, self._proc, self.loaded = None, None, None


__all__ = ["OracleAsk", "OracleChunk", "OracleClient", "OracleDied", "OracleLoad", "OracleLoaded"]
