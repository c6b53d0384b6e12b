"""Run `python -m realm_tui.trainer.entry.export` in a child process and follow its JSON lines.

Merging a LoRA adapter loads torch, transformers and peft; the game and `realm vault export`
never import them, so the merge runs in a child. No textual and no torch here: the Vault screen
calls this from a worker thread, the CLI calls it directly.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from realm_tui.services.child_lines import ChildCancelled, follow_child


class ExportFailed(Exception):
    """The export child failed; the message is its one-line reason."""


def export_command(checkpoint: Path, out: Path, merge: bool, base: Path | None = None) -> list[str]:
    cmd = [sys.executable, "-m", "realm_tui.trainer.entry.export", str(checkpoint), str(out)]
    if not merge:
        cmd.append("--no-merge")
    if base is not None:
        cmd += ["--base", str(base)]
    return cmd


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
    said: dict[str, str] = {}

    def hear(line: dict[str, Any]) -> None:
        if "stage" in line and on_stage is not None:
            on_stage(str(line["stage"]))
        said.update({key: str(line[key]) for key in ("done", "error") if key in line})

    try:
        end = follow_child(
            export_command(checkpoint, out, merge, base), hear, cancelled=cancelled, cwd=cwd, name="export-output"
        )
    except ChildCancelled:
        raise ExportFailed("export cancelled") from None
    if end.code == 0 and "done" in said:
        return Path(said["done"])
    raise ExportFailed(end.reason(said.get("error"), "export"))
