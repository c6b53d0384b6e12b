"""The Vault's drift panel on real tiny checkpoints (Pilot): `f` computes the selected checkpoint's
drift from the previous one in a worker (a progress line meanwhile), the bars show the moved
layer only; `m` picks another checkpoint to compare with, and a cached pair shows at once."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from archaeology_kit import save_checkpoint, two_checkpoints
from textual.widgets import DataTable

from realm_tui.paths import RealmPaths


def _text(panel: object) -> str:
    return str(panel.render())  # type: ignore[attr-defined]


async def _drift_in_the_vault(realm: RealmPaths) -> dict[str, object]:
    from realm_tui.ui.app import create_app
    from realm_tui.ui.game import GameOptions
    from realm_tui.ui.widgets.drift import DriftPanel

    seen: dict[str, object] = {}
    app = create_app(realm.root, GameOptions(inbox_poll_s=0, realm_label="test"))
    async with app.run_test(size=(120, 44)) as pilot:
        await pilot.press("4")
        await pilot.pause()
        panel = app.screen.query_one(DriftPanel)
        progress: list[str] = []
        shown = panel.show_progress

        def heard(text: str) -> None:
            progress.append(text)
            shown(text)

        panel.show_progress = heard  # type: ignore[method-assign]
        seen["hint"] = _text(panel)
        await pilot.press("f")
        deadline = time.monotonic() + 180
        while not str(panel.border_title).startswith("Drift checkpoint-2 → checkpoint-3"):
            assert time.monotonic() < deadline, (_text(panel), progress)
            assert "✖" not in _text(panel), _text(panel)
            await pilot.pause(0.1)
        seen["progress"] = list(progress)
        seen["report"] = _text(panel)

        table = app.screen.query_one("#vault-table", DataTable)
        await pilot.press("down", "down")  # checkpoint-1, the oldest
        await pilot.pause()
        seen["first"] = _text(panel)
        await pilot.press("m")
        await pilot.pause()
        seen["marked_cell"] = str(table.get_row("checkpoint-1")[0])
        seen["marked_detail"] = str(app.screen.query_one("#vault-detail").render())  # type: ignore[attr-defined]
        await pilot.press("up", "up")  # back to checkpoint-3: compared with the marked checkpoint-1
        await pilot.pause()
        assert table.cursor_row == 0
        seen["marked_hint"] = _text(panel)
        await pilot.press("f")
        while not str(panel.border_title).startswith("Drift checkpoint-1 → checkpoint-3"):
            assert time.monotonic() < deadline, _text(panel)
            await pilot.pause(0.1)
        seen["marked_report"] = _text(panel)
        await pilot.press("down")
        await pilot.press("up")  # leaving and coming back: the cached pair shows with no key
        await pilot.pause()
        seen["cached_title"] = str(panel.border_title)
        seen["cached"] = _text(panel)
    return seen


def test_vault_drift_panel(tmp_path: Path) -> None:
    realm, _first, second = two_checkpoints(tmp_path / "realm")
    from transformers import AutoModelForCausalLM

    # checkpoint-3 = checkpoint-2 again (nothing trained): drift from 2 is zero everywhere
    model = AutoModelForCausalLM.from_pretrained(second, use_safetensors=True)
    save_checkpoint(realm, "checkpoint-3", 3, model)
    seen = asyncio.run(_drift_in_the_vault(realm))

    assert "f: how far each layer moved from checkpoint-2 to checkpoint-3" in str(seen["hint"])
    progress = seen["progress"]
    assert isinstance(progress, list) and any("tensors" in p for p in progress), progress
    report = str(seen["report"])
    assert "layers.1" in report and "█" not in report and "cosine 1.000000" in report, report
    assert "first checkpoint" in str(seen["first"])
    assert seen["marked_cell"] == "⚑", "the marked checkpoint shows its mark in the table"
    assert "⚑ drift measured from here" in str(seen["marked_detail"]), seen["marked_detail"]
    assert "from checkpoint-1 (marked) to checkpoint-3" in str(seen["marked_hint"])
    rows = {line.split()[0]: line for line in str(seen["marked_report"]).splitlines() if line.strip()}
    assert "█" in rows["layers.1"] and "█" not in rows["layers.0"] and "█" not in rows["embed_tokens"], rows
    assert seen["cached_title"] == "Drift checkpoint-1 → checkpoint-3"
    assert "cached" in str(seen["cached"])


async def _drift_of_a_truncated_checkpoint(realm: RealmPaths) -> tuple[str, str]:
    from realm_tui.ui.app import create_app
    from realm_tui.ui.game import GameOptions
    from realm_tui.ui.widgets.drift import DriftPanel

    app = create_app(realm.root, GameOptions(inbox_poll_s=0, realm_label="test"))
    async with app.run_test(size=(120, 44)) as pilot:
        await pilot.press("4")
        await pilot.pause()
        panel = app.screen.query_one(DriftPanel)
        await pilot.press("f")
        deadline = time.monotonic() + 120
        while "✖" not in _text(panel):
            assert time.monotonic() < deadline, _text(panel)
            await pilot.pause(0.1)
        error = _text(panel)
        await pilot.press("down")  # the screen still answers: the other checkpoint is shown
        await pilot.pause()
        detail = str(app.screen.query_one("#vault-detail").render())  # type: ignore[attr-defined]
    return error, detail


def test_vault_drift_of_a_truncated_checkpoint_names_the_file(tmp_path: Path) -> None:
    import os

    realm, _first, second = two_checkpoints(tmp_path / "realm")
    weights = second / "model.safetensors"
    os.truncate(weights, weights.stat().st_size - 1000)
    error, detail = asyncio.run(_drift_of_a_truncated_checkpoint(realm))
    assert "checkpoint-2" in error and "model.safetensors has the wrong size" in error, error
    assert detail.startswith("checkpoint-1"), detail
