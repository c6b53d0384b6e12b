"""Every command and event survives a pickle round trip unchanged."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from realm_tui.contract import protocol as p

JOB = p.TrainJob(
    realm_root="/tmp/realm",
    hero_id="dio-nano",
    hero={"id": "dio-nano", "model": {"builder": "nano"}},
    quest_paths=("/tmp/q.jsonl",),
    checkpoints_dir="/tmp/realm/saves/checkpoints",
)

SAMPLES = [
    p.Start(JOB),
    p.Pause(),
    p.Resume(),
    p.Stop(reason="signal"),
    p.SaveNow(),
    p.SetCurriculum({"bin": 1.0}),
    p.Evaluate("bin", 3, request_id="e1"),
    p.Generate((("user", "①+①="),), max_new_tokens=8),
    p.Hello(pid=1, torch_version="2.13.0", device="cpu", precision="bf16"),
    p.Step(5, 10, 1.5, 1e-3, 0.7, 1000.0, 12.0, 640),
    p.EvalResult(5, "bin", 1, 0.85, 20, ({"prompt": "x", "correct": True},)),
    p.EvalProgress("sy", 1, 5, 37, 100, 12.0),
    p.StepProgress(6, 3, 8, 2891, 7702),
    p.CheckpointSaved(5, "/c", "checkpoint-5", 1.2, 1.3, 1e-3, 1234, notes={"oom": 1}),
    p.CheckpointProgress(5, "val sy", 3, 8),
    p.QuestStarted("q1", ("/q.jsonl",), 10, 500),
    p.QuestFinished("q1", 10, 1.1),
    p.Log("hi"),
    p.Error("boom", fatal=True, kind="crash"),
    p.Generated("⓪①"),
    p.Stopped(10, "finished", "/c"),
]


def test_samples_cover_every_message_type() -> None:
    assert {type(s) for s in SAMPLES} == set(p.COMMAND_TYPES) | set(p.EVENT_TYPES)


@pytest.mark.parametrize("message", SAMPLES, ids=lambda m: type(m).__name__)
def test_pickle_round_trip(message: object) -> None:
    again = pickle.loads(pickle.dumps(message))
    assert again == message
    assert type(again) is type(message)


@pytest.mark.parametrize("message", SAMPLES, ids=lambda m: type(m).__name__)
def test_messages_are_frozen(message: object) -> None:
    fields = dataclasses.fields(message)  # type: ignore[arg-type]
    if fields:
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(message, fields[0].name, None)
