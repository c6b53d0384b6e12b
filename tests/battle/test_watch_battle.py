"""A real tiny headless battle writes TensorBoard event files under saves/runs/<campaign>/ and
telemetry lines in its JSON stream; a runs folder that cannot be written costs one line, not the battle."""

from __future__ import annotations

import subprocess

import pytest
from battle_kit import child_env, realm_cmd, run_json
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from realm_tui.battle.tensorboard_sink import run_dir, runs_dir
from realm_tui.paths import RealmPaths


def test_battle_writes_tensorboard_and_telemetry(tiny_realm: RealmPaths) -> None:
    code, events = run_json(tiny_realm, "--steps", "6")
    assert code == 0
    campaign = next(e["text"] for e in events if e["event"] == "Message" and "campaign" in e["text"])
    campaign_id = campaign.split("campaign ")[1].split(",")[0]
    logdir = run_dir(tiny_realm, campaign_id)
    assert list(logdir.glob("events.out.tfevents.*"))

    acc = EventAccumulator(str(logdir), size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    assert {"loss/train", "train/lr", "train/grad_norm", "train/tokens_per_s", "train/strain"} <= tags
    steps = [e for e in events if e["event"] == "Step"]
    logged = {e.step: e.value for e in acc.Scalars("loss/train")}
    assert sorted(logged) == [e["step"] for e in steps]
    for e in steps:
        assert logged[e["step"]] == pytest.approx(e["loss"], rel=1e-6)
    evals = [e for e in events if e["event"] == "EvalResult"]
    assert evals, "the tiny realm evaluates at its checkpoints"
    for e in evals:
        tag = f"accuracy/{e['skill']}/L{e['level']}"
        assert (e["step"], pytest.approx(e["accuracy"])) in [(s.step, s.value) for s in acc.Scalars(tag)]
        if e["val_loss"] is not None:  # an eval's loss on its own problems, beside (not on) the val line
            tag = f"loss/eval/{e['skill']}/L{e['level']}"
            assert (e["step"], pytest.approx(e["val_loss"])) in [(s.step, s.value) for s in acc.Scalars(tag)]
        text = acc.Tensors(f"answers/{e['skill']}/L{e['level']}/text_summary")
        assert any(t.step == e["step"] and b"| prompt | expected | got |" in t.tensor_proto.string_val[0] for t in text)

    saves = [e for e in events if e["event"] == "CheckpointSaved" and e["val_loss"] is not None]
    assert saves, "the tiny realm saves checkpoints"
    val_line = {s.step: s.value for s in acc.Scalars("loss/val")}
    for e in saves:  # the val line is the checkpoints' val loss (DEF's), over what the battle trains
        assert val_line[e["step"]] == pytest.approx(e["val_loss"], rel=1e-6)

    telemetry = [e for e in events if e["event"] == "Telemetry"]
    assert telemetry, "the JSON stream carries telemetry lines"
    first = telemetry[0]
    assert first["cpu_count"] >= 1 and first["rss_bytes"] > 0 and first["ram_total_bytes"] > 0
    if not first["gpus"]:
        assert first["gpu_note"] == "no GPU"

    out = subprocess.run(realm_cmd(tiny_realm, "runs"), capture_output=True, text=True, timeout=60, env=child_env())
    assert out.returncode == 0, out.stderr
    assert campaign_id in out.stdout and "1 battle(s)" in out.stdout
    assert f"tensorboard --logdir {runs_dir(tiny_realm)}" in out.stdout


def test_unwritable_runs_folder_is_one_line_and_the_battle_goes_on(tiny_realm: RealmPaths) -> None:
    runs_dir(tiny_realm).write_text("a file where the runs folder should be")
    code, events = run_json(tiny_realm, "--steps", "3")
    assert code == 0
    lines = [e["text"] for e in events if e["event"] == "Message" and "TensorBoard" in e["text"]]
    assert len(lines) == 1 and lines[0].startswith("TensorBoard logs off: cannot write")
    stopped = [e for e in events if e["event"] == "Stopped"][-1]
    assert stopped["reason"] == "finished" and stopped["step"] == 3
