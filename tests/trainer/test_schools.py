"""Training schools: Scribe + Oracle, Judge (DPO), Whisper (distillation); preference quests."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import pytest
import torch
from trainer_testkit import circled, write_jsonl

from realm_tui.contract.protocol import Error, Log, Step, Stop
from realm_tui.errors import InputError
from realm_tui.quests.preference_data import require_valid_preferences, validate_preference_file
from realm_tui.trainer.control import ScriptedControl
from realm_tui.trainer.data import IGNORE
from realm_tui.trainer.preference_data import read_preference_rows
from realm_tui.trainer.schools import Oracle

LORA = {"method": "lora", "lora": {"r": 4, "alpha": 8.0, "dropout": 0.0}}


def preference_rows(n: int, seed: int = 0) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        width = rng.randint(2, 4)
        a, b = rng.randrange(2**width), rng.randrange(2**width)
        # The rejected answer breaks the hero's format (decimal digits): a preference a tiny
        # random hero can learn in a few steps (a one-bit-wrong sum takes far longer).
        wrong = str(a + b)
        prompt: Any = f"{circled(a, width)} + {circled(b, width)} ="
        if i % 3 == 0:
            prompt = [{"role": "system", "content": "Add."}, {"role": "user", "content": prompt}]
        chosen: Any = circled(a + b, width + 1)
        if i % 4 == 0:
            chosen = [{"role": "assistant", "content": chosen}]
        rows.append({"prompt": prompt, "chosen": chosen, "rejected": wrong})
    return rows


@pytest.fixture
def preference_file(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "prefs.jsonl", preference_rows(48))


def metric_series(events: Any, key: str) -> list[float]:
    return [s.metrics[key] for s in events.of(Step)]


# ---------------------------------------------------------------- the Oracle


@pytest.mark.parametrize("signal", ["entropy", "confidence", "perplexity", "margin"])
def test_oracle_weights_are_normalised_clamped_and_masked(signal: str) -> None:
    torch.manual_seed(0)
    logits = torch.randn(2, 6, 11) * 3
    labels = torch.randint(0, 11, (2, 6))
    labels[0, :2] = IGNORE
    labels[1, 5] = IGNORE
    oracle = Oracle(signal, 0.1, 10.0)
    w = oracle.weights(logits.requires_grad_(), labels)
    mask = labels != IGNORE
    assert not w.requires_grad
    assert torch.all(w[~mask] == 0)
    assert torch.all(w[mask] >= 0.1) and torch.all(w[mask] <= 10.0)
    assert float(w[mask].mean()) == pytest.approx(1.0, abs=0.35)  # mean 1 before clamping
    assert float(w[mask].std()) > 0.01  # the signal actually varies per token


def test_oracle_surprise_orders_tokens() -> None:
    labels = torch.tensor([[0, 0]])
    sure = torch.tensor([10.0, 0.0, 0.0])  # the true token 0 is almost certain
    unsure = torch.tensor([0.0, 3.0, 0.0])  # another token is preferred
    logits = torch.stack([sure, unsure]).unsqueeze(0)
    for signal in ("entropy", "confidence", "perplexity", "margin"):
        w = Oracle(signal, 0.01, 100.0).weights(logits, labels)
        assert w[0, 1] > w[0, 0], signal


def test_oracle_options_are_checked(make_job, battle) -> None:
    with pytest.raises(InputError, match="use one of entropy, confidence, perplexity, margin"):
        Oracle.from_options({"signal": "tarot"})
    stopped, events = battle(make_job(oracle_loss={"signal": "entropy", "weight": 3}))
    (error,) = events.of(Error)
    assert error.kind == "bad_input" and "unknown option(s) weight" in error.message and stopped.reason == "error"


def test_scribe_with_the_oracle_learns_and_reports_weights(make_job, battle) -> None:
    job = make_job(max_steps=20, batch_size=8, oracle_loss={"signal": "confidence"})
    stopped, events = battle(job)
    assert stopped.reason == "finished"
    steps = events.of(Step)
    assert {"oracle_weight", "ce", "objective"} <= steps[0].metrics.keys()
    assert all(0.1 <= s.metrics["oracle_weight"] <= 10 for s in steps)
    assert all(s.loss == pytest.approx(s.metrics["ce"]) for s in steps)  # Step.loss stays the plain CE
    first, last = sum(s.loss for s in steps[:3]) / 3, sum(s.loss for s in steps[-3:]) / 3
    assert last < 0.7 * first
    assert "school scribe with the Oracle (confidence)" in "\n".join(e.message for e in events.of(Log))


# ---------------------------------------------------------------- Judge (DPO)


def test_preference_validation_names_file_and_line(tmp_path: Path) -> None:
    good = preference_rows(2)
    lines = [
        json.dumps(good[0]),
        json.dumps({"messages": [{"role": "user", "content": "hi"}]}),
        json.dumps({"prompt": "q", "chosen": "same", "rejected": "same"}),
        json.dumps({"prompt": [{"role": "assistant", "content": "x"}], "chosen": "a", "rejected": "b"}),
        json.dumps({"prompt": "q", "chosen": [{"role": "user", "content": "a"}], "rejected": "b"}),
        "{oops",
        "",
        json.dumps(good[1]),
    ]
    path = tmp_path / "prefs.jsonl"
    path.write_text("\n".join(lines) + "\n")
    report = validate_preference_file(path)
    assert report.valid_lines == (1, 8) and report.blank_lines == 1
    reasons = {p.line: p.reason for p in report.problems}
    assert "looks like a chat quest" in reasons[2]
    assert "same answer" in reasons[3]
    assert "must end with a user turn" in reasons[4]
    assert "chosen has no assistant turn" in reasons[5]
    assert reasons[6].startswith("bad JSON")
    with pytest.raises(InputError) as err:
        require_valid_preferences(path)
    assert f"{path}:2:" in str(err.value) and f"{path}:6: bad JSON" in str(err.value)


def test_the_child_reads_the_pairs_and_refuses_a_line_that_changed(tmp_path: Path) -> None:
    good = preference_rows(2)
    path = tmp_path / "prefs.jsonl"
    path.write_text(json.dumps(good[0]) + "\n\n" + json.dumps(good[1]) + "\n")
    rows = read_preference_rows(path)
    assert [raw for raw, _ in rows] == [json.dumps(good[0]), json.dumps(good[1])]
    assert rows[0][1].chosen[-1]["role"] == "assistant"
    path.write_text(json.dumps(good[0]) + "\n" + json.dumps({"prompt": "q", "chosen": "a", "rejected": "a"}) + "\n")
    with pytest.raises(InputError) as err:
        read_preference_rows(path)
    assert f"{path}: line 2:" in str(err.value) and "same answer" in str(err.value)


def test_judge_learns_to_prefer_the_chosen_answer(make_job, battle, preference_file: Path) -> None:
    job = make_job(
        school="judge",
        school_options={"beta": 0.5},
        quest_paths=(str(preference_file),),
        max_steps=10,
        batch_size=8,
        learning_rate=3e-3,
    )
    stopped, events = battle(job)
    assert stopped.reason == "finished", [e.message for e in events.of(Error)]
    steps = events.of(Step)
    assert steps[0].loss == pytest.approx(math.log(2), abs=0.05)  # policy == reference at step 1
    assert steps[0].metrics["dpo_margin"] == pytest.approx(0.0, abs=0.1)
    margins, accuracy = metric_series(events, "dpo_margin"), metric_series(events, "dpo_accuracy")
    assert margins[-1] > 2.0 and min(accuracy[1:]) >= 0.8, (margins, accuracy)
    assert steps[-1].loss < 0.5 * steps[0].loss
    assert "reference = a frozen copy of the base hero" in "\n".join(e.message for e in events.of(Log))


def test_judge_resume_is_exact(make_job, battle, preference_file: Path, tmp_path: Path) -> None:
    common = dict(school="judge", quest_paths=(str(preference_file),), max_steps=6, batch_size=3, grad_accum=2)
    _, straight = battle(make_job(**common, checkpoints_dir=str(tmp_path / "a")))
    first_stop, first = battle(make_job(**common, checkpoints_dir=str(tmp_path / "b")), ScriptedControl({3: [Stop()]}))
    state = torch.load(Path(first_stop.checkpoint) / "trainer_state.pt", weights_only=True)
    assert state["school"] == {"name": "judge", "reference": "base"}
    _, resumed = battle(make_job(**common, checkpoints_dir=str(tmp_path / "b"), resume_from=first_stop.checkpoint))
    losses = [s.loss for s in first.of(Step) + resumed.of(Step)]
    assert losses == pytest.approx([s.loss for s in straight.of(Step)], abs=1e-5, rel=0)


def test_judge_with_lora_uses_the_base_as_reference(make_job, battle, preference_file: Path) -> None:
    job = make_job(
        school="judge", memory_profile=LORA, quest_paths=(str(preference_file),), max_steps=6, learning_rate=2e-2
    )
    stopped, events = battle(job)
    assert stopped.reason == "finished", [e.message for e in events.of(Error)]
    assert "adapters disabled" in "\n".join(e.message for e in events.of(Log))
    margins = metric_series(events, "dpo_margin")
    assert margins[0] == pytest.approx(0.0, abs=1e-4) and margins[-1] > margins[0]


def test_judge_on_a_chat_quest_is_refused(make_job, battle) -> None:
    stopped, events = battle(make_job(school="judge", max_steps=2))
    (error,) = events.of(Error)
    assert error.kind == "bad_input" and "looks like a chat quest" in error.message


# ---------------------------------------------------------------- Whisper (distillation)


def test_whisper_distils_a_teacher(make_job, battle, tmp_path: Path) -> None:
    teacher_stop, _ = battle(make_job(max_steps=30, batch_size=8, checkpoints_dir=str(tmp_path / "teacher")))
    job = make_job(
        school="whisper",
        school_options={"teacher": teacher_stop.checkpoint, "temperature": 2.0, "alpha": 0.5},
        max_steps=12,
        batch_size=8,
        checkpoints_dir=str(tmp_path / "student"),
    )
    stopped, events = battle(job)
    assert stopped.reason == "finished", [e.message for e in events.of(Error)]
    kl, ce = metric_series(events, "kl"), metric_series(events, "ce")
    assert sum(kl[-3:]) < 0.6 * sum(kl[:3]) and sum(ce[-3:]) < sum(ce[:3])
    assert "whisper: teacher" in "\n".join(e.message for e in events.of(Log))


def test_whisper_refuses_a_teacher_with_another_tokenizer(make_job, battle, tmp_path: Path) -> None:
    from realm_tui.trainer import nano

    other = tmp_path / "other"
    nano.build_nano_hero(
        nano.NanoSpec.from_dict(
            {
                "hidden_size": 32,
                "num_layers": 1,
                "num_heads": 1,
                "num_kv_heads": 1,
                "head_dim": 32,
                "intermediate_size": 64,
                "vocab": "bytes",
                "seed": 1,
            }
        ),
        other,
    )
    stopped, events = battle(make_job(school="whisper", school_options={"teacher": str(other)}, max_steps=2))
    (error,) = events.of(Error)
    assert error.kind == "bad_input" and "tokenizer differs" in error.message and stopped.reason == "error"


def test_unknown_school_is_refused_before_loading(make_job, battle) -> None:
    stopped, events = battle(make_job(school="champion"))
    (error,) = events.of(Error)
    assert "unknown school 'champion'" in error.message and not events.of(Step)
