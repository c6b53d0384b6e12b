"""Run `python -m realm_tui.trainer.entry.archaeology` in a child process and follow its JSON lines.

Reading every weight of a checkpoint needs torch and safetensors; the game never imports them, so
the work runs in a child whose `{"stage"}`, `{"progress", "total"}`, `{"result"}` and `{"error"}`
lines are followed here (as `export_child` follows the export). No textual and no torch here.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from realm_tui.errors import RealmError
from realm_tui.services.child_lines import ChildCancelled, follow_child

ENTRY = "realm_tui.trainer.entry.archaeology"


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
    heard: dict[str, Any] = {"stage": "starting"}

    def hear(said: dict[str, Any]) -> None:
        if "stage" in said:
            heard["stage"] = str(said["stage"])
            if on_progress is not None:
                on_progress(Progress(heard["stage"]))
        if "progress" in said and on_progress is not None:
            on_progress(Progress(heard["stage"], int(said["progress"]), int(said.get("total", 0))))
        if isinstance(said.get("result"), dict):
            heard["result"] = said["result"]
        if "error" in said:
            heard["error"] = str(said["error"])

    try:
        end = follow_child(archaeology_command(folder, against), hear, cancelled=cancelled, name="archaeology-output")
    except ChildCancelled:
        raise ArchaeologyFailed("cancelled") from None
    result = heard.get("result")
    if end.code == 0 and isinstance(result, dict):
        return result
    raise ArchaeologyFailed(end.reason(heard.get("error"), "archaeology"))
