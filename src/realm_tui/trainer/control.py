"""How commands reach a running battle: the loop polls a `TrainerControl` at every step boundary."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

from realm_tui.contract.protocol import Command


@runtime_checkable
class TrainerControl(Protocol):
    def poll(self, timeout: float = 0.0) -> list[Command]:
        """Commands that arrived since the last poll; wait up to `timeout` seconds for one."""
        ...


class NullControl:
    """No commands ever: run to max_steps."""

    def poll(self, timeout: float = 0.0) -> list[Command]:
        return []


class ScriptedControl:
    """In-process commands scheduled by optimizer step, for tests and library use.

    `schedule[n]` is delivered at the first poll once step n is done (0 = before the first step).
    While the battle blocks (paused, or disk full) and nothing is due, `while_blocked` is handed out
    one command per poll; when that runs dry it raises instead of letting a test hang.
    """

    def __init__(
        self,
        schedule: Mapping[int, Sequence[Command]] | None = None,
        *,
        while_blocked: Sequence[Command] = (),
    ) -> None:
        self._pending = {int(k): list(v) for k, v in (schedule or {}).items()}
        self._blocked = list(while_blocked)
        self.step = 0
        self.delivered: list[tuple[int, Command]] = []

    def notify_step(self, step: int) -> None:
        """Called by the loop at each step boundary (and after a roll-back)."""
        self.step = step

    def poll(self, timeout: float = 0.0) -> list[Command]:
        out: list[Command] = []
        for key in sorted(k for k in self._pending if k <= self.step):
            out += self._pending.pop(key)
        if not out and timeout > 0:
            if not self._blocked:
                raise RuntimeError(f"ScriptedControl: the battle is blocked at step {self.step} with nothing scheduled")
            out.append(self._blocked.pop(0))
        self.delivered += [(self.step, c) for c in out]
        return out
