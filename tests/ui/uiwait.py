"""Waiting helpers for Pilot tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot


async def wait_for(pilot: Pilot[Any], condition: Callable[[], object], timeout: float = 60.0, what: str = "") -> None:
    """Let the app run until `condition()` is true; fail after `timeout` seconds (a hang guard, not a
    speed requirement: with both cores busy a worker thread can take many seconds to get its turn)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what or condition}")
        await pilot.pause(0.05)


class Toasts:
    """Records `app.notify` calls (title, message, severity)."""

    def __init__(self, app: Any) -> None:
        self.calls: list[tuple[str, str, str]] = []
        original = app.notify

        def notify(message: str, *, title: str = "", severity: str = "information", **kwargs: Any) -> None:
            self.calls.append((title, str(message), severity))
            original(message, title=title, severity=severity, **kwargs)

        app.notify = notify

    def titles(self) -> list[str]:
        return [t for t, _m, _s in self.calls]

    def text(self) -> str:
        return "\n".join(f"{t}: {m}" for t, m, _s in self.calls)
