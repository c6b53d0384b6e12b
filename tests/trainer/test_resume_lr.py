"""A resumed battle trains at the job's learning rate (the Armory's, or a bench arm's), not the one
stored in the checkpoint's optimizer and scheduler states; the same rate resumes unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from realm_tui.contract.protocol import Log, Step, Stop
from realm_tui.trainer.control import ScriptedControl


def test_a_resumed_battle_follows_the_jobs_learning_rate(make_job, battle, tmp_path: Path) -> None:
    common = dict(max_steps=8, warmup_steps=2, lr_schedule="cosine", checkpoints_dir=str(tmp_path / "c"))
    first, _ = battle(make_job(**common, learning_rate=3e-3), ScriptedControl({4: [Stop()]}))
    assert first.step == 4

    _, same = battle(make_job(**common, learning_rate=3e-3, resume_from=first.checkpoint))
    _, lower = battle(make_job(**common, learning_rate=1e-3, resume_from=first.checkpoint))
    same_lrs = [s.lr for s in same.of(Step)]
    lower_lrs = [s.lr for s in lower.of(Step)]
    assert len(same_lrs) == len(lower_lrs) == 4
    assert lower_lrs == pytest.approx([lr / 3 for lr in same_lrs], rel=1e-6)  # the cosine's shape, scaled
    assert not any("learning rate" in e.message for e in same.of(Log))
    said = "learning rate 0.001 for this battle (the checkpoint was trained at 0.003)"
    assert any(said in e.message for e in lower.of(Log))
