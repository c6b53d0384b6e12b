"""Curriculum mixing, evals and generation inside a real (tiny) battle."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from realm_tui.contract.protocol import (
    CheckpointSaved,
    Error,
    EvalResult,
    Evaluate,
    Generate,
    Generated,
    QuestStarted,
    SetCurriculum,
    Step,
    Stop,
    Stopped,
)
from realm_tui.skills import get_skill
from realm_tui.trainer import nano
from realm_tui.trainer.control import ScriptedControl
from realm_tui.trainer.data import ChatFormat, DataPosition
from realm_tui.trainer.mixer import Mixer


def bin_curriculum(level: int = 1, quest_share: float = 0.0, review_share: float = 0.0) -> dict:
    mastered = level - 1
    return {
        "strategy": "weighted",
        "focus_skill": None,
        "quest_share": quest_share,
        "review_share": review_share,
        "skills": {
            "bin": {
                "level": level,
                "mastered": mastered,
                "weight": 1.0,
                "review_levels": list(range(1, mastered + 1)),
                "maintenance_levels": [],
            }
        },
    }


def decoded_levels(mixer: Mixer, examples) -> set[int]:
    """BIN level of each generated example, from its operand width (level = width - 1)."""
    out = set()
    for ex in examples:
        text = mixer.tokenizer.decode(list(ex.input_ids))
        expr = text.split("Binary", 1)[1].split(":", 1)[1].split("=", 1)[0]
        width = max(sum(1 for ch in word if ch in "⓪①") for word in expr.split())
        out.add(width - 1)
    return out


@pytest.fixture(scope="module")
def tokenizer():
    return nano.build_tokenizer()


def test_mixer_draws_are_deterministic_and_follow_the_curriculum(tokenizer) -> None:
    def mixer() -> Mixer:
        return Mixer(None, tokenizer, ChatFormat(), 128, seed=5, configs_dir=None, curriculum=bin_curriculum(3))

    a, b = mixer(), mixer()
    first = [a.next_examples(16) for _ in range(3)]
    assert first == [b.next_examples(16) for _ in range(3)] and a.draw == 3
    assert first[0] != first[1]
    assert decoded_levels(a, first[0]) == {3}
    assert all(ex.n_labels > 0 for ex in first[0])

    a.set_curriculum(bin_curriculum(5, review_share=0.5))
    assert decoded_levels(a, a.next_examples(32)) > {5}, "review of mastered levels 1-4 joins in"

    c = mixer()
    c.load_state_dict({"draw": 2}, DataPosition())
    assert c.next_examples(16) == first[2], "the draw counter is the whole state of skill data"


def test_mixer_refuses_a_battle_with_nothing_to_train_on(tokenizer) -> None:
    from realm_tui.errors import RealmError

    with pytest.raises(RealmError, match="needs skills"):
        Mixer(None, tokenizer, ChatFormat(), 128, seed=5, configs_dir=None, curriculum={})
    logs: list[str] = []
    mixer = Mixer(None, tokenizer, ChatFormat(), 128, 5, None, bin_curriculum(1), log=logs.append)
    mixer.set_curriculum({"skills": {}})
    assert mixer.curriculum == bin_curriculum(1) and logs


def test_skills_only_battle_evaluates_before_each_checkpoint(make_job, battle) -> None:
    job = make_job(
        quest_paths=(),
        quest_id="skills",
        curriculum=bin_curriculum(1),
        max_steps=6,
        save_steps=4,
        eval_every_steps=3,
        eval_samples=8,
    )
    stopped, events = battle(job)
    assert stopped.reason == "finished" and stopped.step == 6
    (started,) = events.of(QuestStarted)
    assert (started.quest_id, started.paths, started.examples) == ("skills", (), 0)
    evals = events.of(EvalResult)
    # Every 3 steps, plus before the checkpoint at 4 (not again before the final save at 6).
    assert [(e.step, e.skill, e.level) for e in evals] == [(3, "bin", 1), (4, "bin", 1), (6, "bin", 1)]
    assert all(e.total == 8 and len(e.results) == 8 and e.val_loss is not None for e in evals)
    order = [
        (type(e).__name__, getattr(e, "step", None)) for e in events if isinstance(e, EvalResult | CheckpointSaved)
    ]
    assert order.index(("EvalResult", 4)) < order.index(("CheckpointSaved", 4))
    assert order.index(("EvalResult", 6)) < order.index(("CheckpointSaved", 6))
    saved = events.of(CheckpointSaved)
    assert all(c.val_loss is not None for c in saved), "validation on held-out generated problems"
    state = torch.load(Path(stopped.checkpoint) / "trainer_state.pt", weights_only=True)
    assert state["curriculum"] == bin_curriculum(1) and state["mixer"] == {"draw": 6}


def test_resume_with_a_curriculum_is_exact(make_job, battle, tmp_path: Path) -> None:
    cur = bin_curriculum(3, quest_share=0.5, review_share=0.3)
    common = dict(max_steps=8, batch_size=4, grad_accum=2, curriculum=cur, eval_every_steps=0, lr_schedule="cosine")
    straight_stop, straight = battle(make_job(**common, checkpoints_dir=str(tmp_path / "a")))
    first_stop, first = battle(make_job(**common, checkpoints_dir=str(tmp_path / "b")), ScriptedControl({4: [Stop()]}))
    assert first_stop.step == 4
    resumed_stop, resumed = battle(
        make_job(**common, checkpoints_dir=str(tmp_path / "b"), resume_from=first_stop.checkpoint)
    )
    assert [s.step for s in resumed.of(Step)] == [5, 6, 7, 8]
    losses = [s.loss for s in first.of(Step) + resumed.of(Step)]
    assert losses == pytest.approx([s.loss for s in straight.of(Step)], abs=1e-5, rel=0)
    a = load_file(str(Path(straight_stop.checkpoint) / "model.safetensors"))
    b = load_file(str(Path(resumed_stop.checkpoint) / "model.safetensors"))
    for name in a:
        torch.testing.assert_close(a[name], b[name], atol=1e-5, rtol=0)


def test_commands_set_curriculum_evaluate_and_generate(make_job, battle) -> None:
    control = ScriptedControl(
        {
            1: [SetCurriculum(bin_curriculum(4)), Evaluate("bin", 2, request_id="retest")],
            2: [Generate((("user", "Binary: ①⓪ + ①① ="),), max_new_tokens=20, request_id="g1")],
            3: [Evaluate("bin", 99, request_id="bad"), Evaluate("nope", 1)],
        }
    )
    job = make_job(quest_paths=(), quest_id="skills", curriculum=bin_curriculum(1), max_steps=4, eval_samples=6)
    stopped, events = battle(job, control)
    assert stopped.reason == "finished"
    evals = events.of(EvalResult)
    assert [(e.step, e.level, e.request_id) for e in evals] == [(1, 2, "retest"), (4, 4, "")]
    generated = [g for g in events.of(Generated) if g.request_id == "g1"]
    assert len(generated) >= 2 and generated[-1].done and not any(g.done for g in generated[:-1])
    assert all(generated[-1].text.startswith(g.text) for g in generated[:-1]), "partials are the text so far"
    errors = [e for e in events.of(Error) if not e.fatal]
    assert len(errors) == 2 and all(e.kind == "bad_input" for e in errors)
    state = torch.load(Path(stopped.checkpoint) / "trainer_state.pt", weights_only=True)
    assert state["curriculum"]["skills"]["bin"]["level"] == 4


def test_generate_from_another_checkpoint(make_job, battle) -> None:
    first, _ = battle(make_job(max_steps=2))
    control = ScriptedControl(
        {1: [Generate((("user", "hi"),), max_new_tokens=4, checkpoint=Path(first.checkpoint).name, request_id="old")]}
    )
    stopped, events = battle(make_job(max_steps=2, save_steps=1000), control)
    (done,) = [g for g in events.of(Generated) if g.done]
    assert done.request_id == "old" and isinstance(done.text, str)
    assert isinstance(events[-1], Stopped) and stopped.reason == "finished"


def test_skill_examples_are_assistant_only_labels(tokenizer) -> None:
    mixer = Mixer(None, tokenizer, ChatFormat(), 128, seed=1, configs_dir=None, curriculum=bin_curriculum(2))
    for ex in mixer.next_examples(8):
        labelled = tokenizer.decode([t for t in ex.labels if t != -100])
        assert labelled.endswith("<|im_end|>") and "Binary" not in labelled
    assert get_skill("bin").score(get_skill("bin").generate(2, 1, 1)[0], "") is False
