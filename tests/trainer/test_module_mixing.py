"""Installed quest modules in the trainer's mix: drawn by weight, logged, resumed exactly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from realm_tui.contract.protocol import Log, Step, Stop
from realm_tui.trainer import nano
from realm_tui.trainer.control import ScriptedControl
from realm_tui.trainer.data import ChatFormat, DataPosition
from realm_tui.trainer.mixer import Mixer

REPO = Path(__file__).resolve().parents[2]
SEQ_DATA = REPO / "quests" / "modules" / "seq-drills" / "data"


def seq_module(level: int = 1, weight: float = 1.0, **kw: Any) -> dict[str, Any]:
    """The shipped example module as the parent puts it in the job (`quests.compose`)."""
    return {
        "id": "seq-drills",
        "weight": weight,
        "priority": 0,
        "files": [str(SEQ_DATA / f"level{level}.jsonl")],
        "levels": {"sequences": level},
        "skipped": None,
    } | kw


def curriculum(modules: list[dict[str, Any]], quest_share: float = 0.0, level: int = 1) -> dict[str, Any]:
    return {
        "strategy": "weighted",
        "focus_skill": None,
        "quest_share": quest_share,
        "review_share": 0.0,
        "skills": {
            "bin": {"level": level, "mastered": level - 1, "weight": 1.0, "review_levels": [], "maintenance_levels": []}
        },
        "modules": modules,
    }


@pytest.fixture(scope="module")
def tokenizer():
    return nano.build_tokenizer()


def is_module_example(tokenizer, example) -> bool:
    return "Binary" not in tokenizer.decode(list(example.input_ids))


def test_the_mixer_trains_module_examples_by_weight_and_resumes_exactly(tokenizer) -> None:
    logs: list[str] = []

    def mixer(log=logs.append) -> Mixer:
        return Mixer(
            None, tokenizer, ChatFormat(), 128, seed=5, configs_dir=None, curriculum=curriculum([seq_module()]), log=log
        )

    a = mixer()
    assert "module seq-drills: 100 examples (sequences level 1), about 50% of the non-quest examples" in logs[0]
    steps = []
    for _ in range(6):
        planned = sum(1 for s in a.plan(16) if s.kind == "module")
        examples = a.next_examples(16)
        steps.append(examples)
        assert sum(is_module_example(tokenizer, e) for e in examples) == planned
    drawn = a.modules["seq-drills"].drawn
    assert 30 <= drawn <= 66, "about half of 96 examples"
    assert a.state_dict()["modules"]["seq-drills"]["drawn"] == drawn

    # A fresh mixer restored from the state draws exactly what the first one draws next.
    saved = a.state_dict()
    b = mixer(log=lambda message: None)
    b.load_state_dict(saved, DataPosition())
    assert [b.next_examples(16) for _ in range(3)] == [a.next_examples(16) for _ in range(3)]
    c = mixer(log=lambda message: None)
    assert [c.next_examples(16) for _ in range(6)] == steps, "deterministic from the seed"

    # The keeper's SetCurriculum has no modules: the battle keeps them (and does not reload them).
    pool = a.modules["seq-drills"]
    count = len(logs)
    a.set_curriculum({k: v for k, v in curriculum([], level=2).items() if k != "modules"})
    assert a.modules["seq-drills"] is pool and a.curriculum["skills"]["bin"]["level"] == 2 and len(logs) == count
    # A checkpoint of other files does not move this module's stream.
    d = mixer(log=lambda message: None)
    d.load_state_dict(
        {"draw": 0, "modules": {"seq-drills": {**saved["modules"]["seq-drills"], "files": ["x"]}}}, DataPosition()
    )
    assert d.modules["seq-drills"].drawn == 0


def test_unusable_or_skipped_modules_are_logged_and_never_drawn(tokenizer, tmp_path: Path) -> None:
    long_answer = tmp_path / "long.jsonl"
    long_answer.write_text(
        '{"messages": [{"role": "user", "content": "' + "x" * 400 + '"}, {"role": "assistant", "content": "y"}]}\n',
        encoding="utf-8",
    )
    modules = [
        seq_module(skipped="needs hero level 3; the hero is level 0"),
        seq_module(id="too-long", files=[str(long_answer)]),
    ]
    logs: list[str] = []
    mixer = Mixer(None, tokenizer, ChatFormat(), 128, 5, None, curriculum(modules), log=logs.append)
    assert "module seq-drills skipped: needs hero level 3; the hero is level 0" in logs
    assert any(m.startswith("module too-long skipped: its data cannot be trained") and "long.jsonl" in m for m in logs)
    assert mixer.modules == {}
    assert all(not any(s.kind == "module" for s in mixer.plan(16)) for _ in range(3))
    assert all("Binary" in tokenizer.decode(list(e.input_ids)) for e in mixer.next_examples(16))


def test_a_battle_with_a_module_trains_on_it_and_resumes_exactly(make_job, battle, tmp_path: Path) -> None:
    cur = curriculum([seq_module(weight=0.5)], quest_share=0.5)
    common = dict(max_steps=6, batch_size=4, grad_accum=2, curriculum=cur, eval_every_steps=0)
    straight_stop, straight = battle(make_job(**common, checkpoints_dir=str(tmp_path / "a")))
    logs = [e.message for e in straight.of(Log)]
    assert any(m.startswith("module seq-drills: 100 examples (sequences level 1)") for m in logs), logs
    state = torch.load(Path(straight_stop.checkpoint) / "trainer_state.pt", weights_only=True)
    drawn = state["mixer"]["modules"]["seq-drills"]
    assert drawn["drawn"] > 0 and drawn["files"] == cur["modules"][0]["files"]
    assert state["curriculum"]["modules"][0]["id"] == "seq-drills"

    first_stop, first = battle(make_job(**common, checkpoints_dir=str(tmp_path / "b")), ScriptedControl({3: [Stop()]}))
    assert first_stop.step == 3
    resumed_stop, resumed = battle(
        make_job(**common, checkpoints_dir=str(tmp_path / "b"), resume_from=first_stop.checkpoint)
    )
    losses = [s.loss for s in first.of(Step) + resumed.of(Step)]
    assert losses == pytest.approx([s.loss for s in straight.of(Step)], abs=1e-5, rel=0)
    again = torch.load(Path(resumed_stop.checkpoint) / "trainer_state.pt", weights_only=True)
    assert again["mixer"] == state["mixer"], "the module stream continued where it stopped"
