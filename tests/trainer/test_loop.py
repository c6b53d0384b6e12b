"""The battle loop: learning, exact resume, commands, faults (non-finite, OOM, full disk, killed save)."""

from __future__ import annotations

import math
import shutil
from collections import namedtuple
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from realm_tui.contract.manifest import is_valid_checkpoint
from realm_tui.contract.protocol import (
    CheckpointSaved,
    Error,
    Hello,
    Log,
    Pause,
    QuestFinished,
    QuestStarted,
    Resume,
    SaveNow,
    Step,
    Stop,
    Stopped,
)
from realm_tui.trainer.control import ScriptedControl
from realm_tui.trainer.runtime import FakeFaults


def weights(checkpoint: str) -> dict[str, torch.Tensor]:
    return load_file(str(Path(checkpoint) / "model.safetensors"))


def losses(events) -> list[float]:
    return [e.loss for e in events.of(Step)]


def test_loss_falls_on_a_small_quest(make_job, battle) -> None:
    stopped, events = battle(make_job(max_steps=30, batch_size=8, save_steps=15))
    assert stopped.reason == "finished" and stopped.step == 30
    kinds = [type(e) for e in events]
    assert kinds[:3] == [Log, Hello, QuestStarted] and kinds[-1] is Stopped
    assert not events.of(QuestFinished)  # 1000 passes: the battle ended, the quest did not
    assert "quest q-test in progress" in events.of(Log)[-1].message
    steps = events.of(Step)
    assert [s.step for s in steps] == list(range(1, 31))
    first, last = sum(losses(events)[:3]) / 3, sum(losses(events)[-3:]) / 3
    assert last < 0.5 * first, (first, last)
    saved = events.of(CheckpointSaved)
    assert [c.step for c in saved] == [15, 30]
    assert saved[-1].val_loss is not None and saved[-1].val_loss < saved[0].val_loss
    assert stopped.checkpoint == saved[-1].path and is_valid_checkpoint(Path(saved[-1].path))
    assert steps[-1].tokens > 0 and steps[-1].tokens_per_s > 0 and steps[-1].epoch > 1


@pytest.mark.parametrize("packing", [True, False])
def test_resume_is_exact(make_job, battle, tmp_path: Path, packing: bool) -> None:
    # 48 examples, ~43 train; 6 per step → step 5 stops mid-epoch 0, steps 6..10 cross into epoch 1.
    common = dict(max_steps=10, batch_size=3, grad_accum=2, lr_schedule="cosine", warmup_steps=3, packing=packing)
    straight_stop, straight = battle(make_job(**common, checkpoints_dir=str(tmp_path / "a")))

    first_stop, first = battle(make_job(**common, checkpoints_dir=str(tmp_path / "b")), ScriptedControl({5: [Stop()]}))
    assert first_stop.reason == "requested" and first_stop.step == 5
    resumed_stop, resumed = battle(
        make_job(**common, checkpoints_dir=str(tmp_path / "b"), resume_from=first_stop.checkpoint)
    )
    assert resumed_stop.reason == "finished" and [s.step for s in resumed.of(Step)] == list(range(6, 11))

    assert losses(first) + losses(resumed) == pytest.approx(losses(straight), abs=1e-5, rel=0)
    a, b = weights(straight_stop.checkpoint), weights(resumed_stop.checkpoint)
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], atol=1e-5, rtol=0)


def test_commands_pause_resume_save_and_stop(make_job, battle) -> None:
    control = ScriptedControl(
        {0: [Pause()], 2: [SaveNow()], 4: [Stop(reason="requested", save=False)]}, while_blocked=[Resume()]
    )
    stopped, events = battle(make_job(max_steps=10), control)
    assert stopped.reason == "requested" and stopped.step == 4
    assert [c.step for c in events.of(CheckpointSaved)] == [2]
    assert stopped.checkpoint == events.of(CheckpointSaved)[0].path
    assert any("paused at step 0" in log.message for log in events.of(Log))
    assert not events.of(QuestFinished)


def test_nonfinite_update_is_skipped(make_job, battle) -> None:
    stopped, events = battle(make_job(max_steps=5), fake_faults=FakeFaults(nonfinite_at_step={3: 1}))
    errors = events.of(Error)
    assert [e.kind for e in errors] == ["nonfinite"] and not errors[0].fatal
    assert [s.step for s in events.of(Step)] == [1, 2, 3, 4, 5]
    assert all(math.isfinite(x) for x in losses(events))
    assert stopped.reason == "finished"
    assert all(torch.isfinite(t).all() for t in weights(stopped.checkpoint).values())


def test_three_nonfinite_in_a_row_roll_back(make_job, battle) -> None:
    stopped, events = battle(make_job(max_steps=6, save_steps=2), fake_faults=FakeFaults(nonfinite_at_step={4: 3}))
    assert [e.kind for e in events.of(Error)] == ["nonfinite"] * 3
    assert [s.step for s in events.of(Step)] == [1, 2, 3, 3, 4, 5, 6]
    assert any("rolled back to checkpoint-2-" in log.message for log in events.of(Log))
    saved = events.of(CheckpointSaved)
    assert [c.step for c in saved] == [2, 4, 6]
    assert saved[1].notes["rollbacks"][0]["to_step"] == 2
    assert stopped.reason == "finished"


def test_nonfinite_without_a_checkpoint_stops_with_a_clear_error(make_job, battle) -> None:
    stopped, events = battle(make_job(max_steps=6), fake_faults=FakeFaults(nonfinite_at_step={2: 3}))
    fatal = [e for e in events.of(Error) if e.fatal]
    assert len(fatal) == 1 and "nothing to roll back to" in fatal[0].message
    assert stopped.reason == "error" and stopped.checkpoint is None


def test_fake_oom_halves_the_micro_batch_and_keeps_the_effective_batch(make_job, battle, tmp_path: Path) -> None:
    job = make_job(max_steps=4, batch_size=4, save_steps=3)
    _, plain = battle(job)
    stopped, events = battle(
        make_job(max_steps=4, batch_size=4, save_steps=3, checkpoints_dir=str(tmp_path / "oom")),
        fake_faults=FakeFaults(oom_at_step={2: 1}),
    )
    assert any("micro-batch 4 → 2, grad accumulation → 2" in log.message for log in events.of(Log))
    notes = events.of(CheckpointSaved)[0].notes
    assert notes["oom"] == [{"step": 2, "micro_batch": 2, "grad_accum": 2}]
    assert losses(events) == pytest.approx(losses(plain), abs=1e-5, rel=0)
    state = torch.load(Path(stopped.checkpoint) / "trainer_state.pt", weights_only=True)
    assert (state["micro_batch"], state["grad_accum"]) == (2, 2)


def test_full_disk_pauses_and_keeps_the_last_checkpoint(make_job, battle, monkeypatch) -> None:
    real_usage = shutil.disk_usage
    full = {"on": False}

    def usage(path):
        total, used, free = real_usage(path)
        return namedtuple("usage", "total used free")(total, used, 0 if full["on"] else free)

    monkeypatch.setattr("realm_tui.trainer.loop.shutil.disk_usage", usage)

    class FillAfterFirstSave(ScriptedControl):
        def notify_step(self, step: int) -> None:
            super().notify_step(step)
            full["on"] = step >= 3

    control = FillAfterFirstSave(while_blocked=[Resume(), Stop()])
    stopped, events = battle(make_job(max_steps=8, save_steps=2), control)
    saved = events.of(CheckpointSaved)
    assert [c.step for c in saved] == [2]
    assert [e.kind for e in events.of(Error)] == ["disk_full", "disk_full"]  # again after the resume
    assert stopped.reason == "disk_full" and stopped.step == 4
    assert stopped.checkpoint == saved[0].path and is_valid_checkpoint(Path(saved[0].path))
    assert not list(Path(saved[0].path).parent.glob(".tmp-*"))


def test_a_killed_save_is_cleaned_up_and_never_resumed(make_job, battle, tmp_path: Path) -> None:
    ckpts = tmp_path / "checkpoints"
    killed = ckpts / ".tmp-checkpoint-3-20250101-1200-999"
    killed.mkdir(parents=True)
    (killed / "model.safetensors").write_bytes(b"half a file")

    stopped, events = battle(make_job(max_steps=2, resume_from=str(killed)))
    assert any("removed 1 unfinished checkpoint" in log.message for log in events.of(Log))
    assert not killed.exists()
    assert stopped.reason == "error" and stopped.checkpoint is None
    assert any(e.fatal and e.kind == "bad_input" and str(killed) in e.message for e in events.of(Error))

    stopped, events = battle(make_job(max_steps=2))
    assert stopped.reason == "finished" and not list(ckpts.glob(".tmp-*"))


def test_corrupted_checkpoint_is_refused_on_resume(make_job, battle) -> None:
    stopped, _ = battle(make_job(max_steps=2))
    weights_file = Path(stopped.checkpoint) / "model.safetensors"
    weights_file.write_bytes(weights_file.read_bytes()[:-10] + b"0123456789")
    again, events = battle(make_job(max_steps=4, resume_from=stopped.checkpoint))
    fatal = [e for e in events.of(Error) if e.fatal]
    assert again.reason == "error" and "does not match its checksum" in fatal[0].message
    assert stopped.checkpoint in fatal[0].message


def test_unknown_optimizer_is_a_clear_error(make_job, battle) -> None:
    stopped, events = battle(make_job(optimizer="sgd-deluxe"))
    (error,) = events.of(Error)
    assert error.fatal and error.kind == "bad_input" and "sgd-deluxe" in error.message
    assert stopped.reason == "error"


def test_lora_battle_saves_an_adapter_and_resumes(make_job, battle) -> None:
    profile = {"method": "lora", "lora": {"r": 4, "alpha": 8.0, "dropout": 0.0}, "gradient_checkpointing": True}
    first, events = battle(make_job(memory_profile=profile, max_steps=3), ScriptedControl({2: [Stop()]}))
    saved = events.of(CheckpointSaved)
    assert saved[0].adapter and (Path(first.checkpoint) / "adapter_model.safetensors").is_file()
    resumed, more = battle(make_job(memory_profile=profile, max_steps=3, resume_from=first.checkpoint))
    assert resumed.reason == "finished" and [s.step for s in more.of(Step)] == [3]


def test_time_cadence_saves_even_between_save_steps(make_job, battle) -> None:
    stopped, events = battle(make_job(max_steps=3, save_steps=1000, save_minutes=1e-9))
    assert [c.step for c in events.of(CheckpointSaved)] == [1, 2, 3]
    assert stopped.checkpoint == events.of(CheckpointSaved)[-1].path


def test_bf16_autocast_battle_runs(make_job, battle) -> None:
    stopped, events = battle(make_job(max_steps=3, precision="bf16"))
    (hello,) = events.of(Hello)
    assert hello.precision == "bf16" and stopped.reason == "finished"
    assert all(math.isfinite(x) for x in losses(events))
    # The saved master weights stay float32.
    assert all(t.dtype == torch.float32 for t in weights(stopped.checkpoint).values())


def test_fake_faults_from_environment(monkeypatch) -> None:
    monkeypatch.setenv("REALM_FAKE_OOM_AT_STEP", "5, 9:2")
    monkeypatch.setenv("REALM_FAKE_NONFINITE_AT_STEP", "4:3")
    fakes = FakeFaults.from_env()
    assert fakes.oom_at_step == {5: 1, 9: 2} and fakes.nonfinite_at_step == {4: 3}
    assert fakes.oom(9) and fakes.oom(9) and not fakes.oom(9)
