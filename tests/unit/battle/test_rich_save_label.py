"""The rich progress bar names a checkpoint being saved, and says `battle` again once it is saved."""

from __future__ import annotations

import io

from rich.console import Console

from realm_tui.battle.render import RichRenderer
from realm_tui.contract.protocol import CheckpointProgress, CheckpointSaved, Step


def _bar(events: list[object]) -> str:
    out = io.StringIO()
    renderer = RichRenderer(Console(file=out, width=200, force_terminal=False))
    for event in events:
        renderer.show(event, [])  # type: ignore[arg-type]
    renderer.close()  # the bar's last state is drawn when it stops
    return out.getvalue()


def test_the_bar_names_the_save_in_flight() -> None:
    step = Step(3, 10, 1.25, 1e-3, 0.5, 900.0, 7.0, 768)
    saving = [step, CheckpointProgress(3, "val sy", 2, 5), CheckpointProgress(3, "writing optimizer")]
    assert "checkpoint 3 · writing optimizer" in _bar(saving)
    saved = _bar([*saving, CheckpointSaved(3, "/c", "checkpoint-3", 1.2, 1.3, 1e-3, 2**20)])
    assert "checkpoint-3" in saved and "checkpoint 3 · writing" not in saved
