"""Eval never kills a battle: out of memory halves the generation batch and retries, down to one.

Fault injection like the trainer's own (`runtime.FakeFaults`): `oom_retry.FakeGenerationOom`
(REALM_FAKE_EVAL_OOM) raises a fake `torch.OutOfMemoryError` for batches above a size. The
verdicts are those of the run without faults, and the halving is said in the battle's log."""

from __future__ import annotations

import pytest
import torch
from test_eval_jobs import bin_only
from trainer_testkit import TINY_NANO

from realm_tui.contract.protocol import Error, EvalResult, Generate, Generated, Log
from realm_tui.skills import get_skill
from realm_tui.trainer import nano
from realm_tui.trainer.control import ScriptedControl
from realm_tui.trainer.evaluate import (
    EvalOutOfMemory,
    GenerationOutOfMemory,
    evaluate_skill,
    generate_texts,
    score_problems,
)
from realm_tui.trainer.oom_retry import BatchHalving, FakeGenerationOom, is_out_of_memory


@pytest.fixture(scope="module")
def noisy_model():
    """A tiny hero with shaken weights: different prompts get different answers, some right."""
    tokenizer = nano.build_tokenizer()
    model = nano.build_model(nano.NanoSpec.from_dict(TINY_NANO), tokenizer)
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * 0.5)
    return model, tokenizer


def no_faults() -> FakeGenerationOom:
    return FakeGenerationOom()


def test_out_of_memory_halves_the_eval_batch_with_the_same_verdicts(noisy_model) -> None:
    model, tokenizer = noisy_model
    skill = get_skill("bin")
    problems = [p for level in (1, 3) for p in skill.generate(level, 9, seed=level)]
    plain = score_problems(model, tokenizer, skill, problems, halving=BatchHalving(16, fake=no_faults()))
    said: list[str] = []
    halving = BatchHalving(16, say=said.append, fake=FakeGenerationOom(above=4))
    faulted = score_problems(model, tokenizer, skill, problems, halving=halving)
    assert said == ["eval batch halved to 8 after out of memory", "eval batch halved to 4 after out of memory"]
    assert halving.size == 4, "the smaller batch is kept"
    assert faulted.results == plain.results and faulted.accuracy == plain.accuracy
    assert faulted.complete and faulted.failed == 0
    # The next eval starts at the halved batch: it does not run out of memory first again.
    again = score_problems(model, tokenizer, skill, problems, halving=halving)
    assert again.results == plain.results and len(said) == 2


def test_a_problem_out_of_memory_alone_is_a_clear_error(noisy_model) -> None:
    model, tokenizer = noisy_model
    skill = get_skill("bin")
    problems = skill.generate(1, 6, seed=1)
    said: list[str] = []
    scored = score_problems(
        model, tokenizer, skill, problems, halving=BatchHalving(4, say=said.append, fake=FakeGenerationOom(above=0))
    )
    assert said == ["eval batch halved to 2 after out of memory", "eval batch halved to 1 after out of memory"]
    assert scored.failed == 6 and not any(r["correct"] for r in scored.results)
    assert all(r["got"] == "(not answered: out of memory even alone (eval batch of 1))" for r in scored.results)
    with pytest.raises(EvalOutOfMemory, match="6 of 6 problems not answered: out of memory even one at a time"):
        evaluate_skill(model, tokenizer, skill, 1, 6, step=0, halving=BatchHalving(4, fake=FakeGenerationOom(above=0)))
    convs = [p.messages()[:-1] for p in problems]
    with pytest.raises(GenerationOutOfMemory, match="6 of 6 not answered"):
        generate_texts(
            model, tokenizer, convs, max_new_tokens=4, halving=BatchHalving(4, fake=FakeGenerationOom(above=0))
        )


def test_answers_halve_too_and_stay_the_same(noisy_model) -> None:
    model, tokenizer = noisy_model
    convs = [p.messages()[:-1] for p in get_skill("bin").generate(3, 10, seed=4)]
    plain = generate_texts(model, tokenizer, convs, max_new_tokens=8, halving=BatchHalving(8, fake=no_faults()))
    said: list[str] = []
    halving = BatchHalving(8, what="answer", say=said.append, fake=FakeGenerationOom(above=2, times=3))
    assert generate_texts(model, tokenizer, convs, max_new_tokens=8, halving=halving) == plain
    assert said == ["answer batch halved to 4 after out of memory", "answer batch halved to 2 after out of memory"]


def test_what_counts_as_out_of_memory() -> None:
    assert is_out_of_memory(torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    cpu = "[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory: you tried to allocate 8"
    assert is_out_of_memory(RuntimeError(cpu))
    assert not is_out_of_memory(RuntimeError("shape '[2, 3]' is invalid for input of size 7"))
    assert not is_out_of_memory(ValueError("out of memory"))  # only torch's errors


def test_any_other_error_is_not_retried(noisy_model) -> None:
    calls: list[range] = []

    def answer(rows: range) -> None:
        calls.append(rows)
        raise RuntimeError("shape mismatch")

    with pytest.raises(RuntimeError, match="shape mismatch"):
        BatchHalving(8, fake=no_faults()).run(10, answer, failed=lambda i, why: None)
    assert calls == [range(0, 8)]


def test_fake_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REALM_FAKE_EVAL_OOM", "16:2")
    fake = FakeGenerationOom.from_env()
    assert (fake.above, fake.times) == (16, 2)
    fake.check(16)  # not above: fine
    for _ in range(2):
        with pytest.raises(torch.OutOfMemoryError):
            fake.check(17)
    fake.check(17)  # spent
    monkeypatch.delenv("REALM_FAKE_EVAL_OOM")
    assert FakeGenerationOom.from_env().above is None


def test_a_battle_with_out_of_memory_evals_gives_the_same_verdicts(make_job, battle, monkeypatch) -> None:
    job = make_job(quest_paths=(), curriculum=bin_only(2), eval_every_steps=2, eval_samples=16, max_steps=4)
    monkeypatch.delenv("REALM_FAKE_EVAL_OOM", raising=False)
    stopped, events = battle(job)
    monkeypatch.setenv("REALM_FAKE_EVAL_OOM", "4")  # every generation batch above 4 rows runs out of memory
    faulted_stop, faulted = battle(job)
    assert stopped.reason == faulted_stop.reason == "finished"
    plain = [(e.step, e.skill, e.level, e.accuracy, e.results) for e in events.of(EvalResult)]
    assert len(plain) == 2
    assert [(e.step, e.skill, e.level, e.accuracy, e.results) for e in faulted.of(EvalResult)] == plain
    halved = [e.message for e in faulted.of(Log) if "halved" in e.message]
    # 16 problems: the first batch (16 rows) halves to 8, then 4; the second eval starts at 4
    assert halved == ["eval batch halved to 8 after out of memory", "eval batch halved to 4 after out of memory"]
    assert not faulted.of(Error) and not [e for e in events.of(Log) if "halved" in e.message]


def test_out_of_memory_even_alone_is_reported_and_the_battle_goes_on(make_job, battle, monkeypatch) -> None:
    monkeypatch.setenv("REALM_FAKE_EVAL_OOM", "0")  # every generation runs out of memory, even of one row
    job = make_job(quest_paths=(), curriculum=bin_only(2), eval_every_steps=2, eval_samples=8, max_steps=3)
    control = ScriptedControl({1: [Generate((("user", "hello"),), max_new_tokens=4, request_id="g1")]})
    stopped, events = battle(job, control)
    assert stopped.reason == "finished" and stopped.step == 3
    assert not events.of(EvalResult), "an eval with unanswered problems never counts"
    errors = [e.message for e in events.of(Error)]
    assert "generation ran out of memory (one prompt: nothing to halve); the battle goes on" in errors
    evals = [m for m in errors if m.startswith("eval bin L2 at step 2 failed")]
    assert evals and "8 of 8 problems not answered: out of memory even one at a time" in evals[0]
    assert all(e.kind == "eval" and not e.fatal for e in events.of(Error))
    (reply,) = [g for g in events.of(Generated) if g.request_id == "g1"]
    assert reply.done and reply.text == ""
