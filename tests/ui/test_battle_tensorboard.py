"""A battle started from the game writes its TensorBoard run too (through the battle worker); a
runs folder that cannot be written is one line in the battle log and the battle goes on."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from uiwait import wait_for

from realm_tui.battle.tensorboard_sink import runs_dir
from realm_tui.ui.app import RealmApp
from realm_tui.ui.models import TrainerState

pytestmark = pytest.mark.anyio


async def _battle(app: RealmApp, steps: int) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2", "s")
        await wait_for(pilot, lambda: app.game.live is not None and app.game.live.step >= steps, what="steps")
        await pilot.press("x")
        await wait_for(pilot, lambda: app.game.trainer_state is TrainerState.IDLE, what="stopped")


async def test_a_game_battle_writes_its_run(make_app: Callable[..., RealmApp]) -> None:
    app = make_app()
    await _battle(app, 3)
    runs = [p for p in runs_dir(app.game.realm).iterdir() if p.is_dir()]
    assert len(runs) == 1 and list(runs[0].glob("events.out.tfevents.*"))
    acc = EventAccumulator(str(runs[0]), size_guidance={"scalars": 0})
    acc.Reload()
    losses = acc.Scalars("loss/train")
    assert len(losses) >= 3
    for point in losses:  # FakeBridge's loss at step s: 2 / (1 + 0.1 s)
        assert point.value == pytest.approx(2.0 / (1 + 0.1 * point.step), rel=1e-6)
    assert "train/strain" in acc.Tags()["scalars"]


async def test_an_unwritable_runs_folder_is_one_log_line(make_app: Callable[..., RealmApp]) -> None:
    app = make_app()
    runs_dir(app.game.realm).write_text("a file where the runs folder should be")
    await _battle(app, 3)
    lines = [line for line in app.game.log if "TensorBoard" in line.text]
    assert len(lines) == 1 and lines[0].text.startswith("TensorBoard logs off: cannot write")
    assert lines[0].kind == "error"
