"""Token-budgeted micro-batches: the same update as one pass, and `StepProgress` between them."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
import torch

from realm_tui.contract.protocol import Step, StepProgress
from realm_tui.trainer.data import IGNORE, Example
from realm_tui.trainer.hero import load_hero
from realm_tui.trainer.runtime import accumulate_gradients, eval_loss, make_accelerator, micro_batches
from realm_tui.trainer.school_registry import make_school


def _examples(vocab: int, seed: int = 3) -> list[Example]:
    """Mixed lengths like a step once SY joins: a few long examples among short ones."""
    rng = random.Random(seed)
    out = []
    for n in [90, 12, 15, 70, 9, 20, 11, 85, 14, 10]:
        ids = tuple(rng.randrange(4, vocab) for _ in range(n))
        answer = max(2, n // 5)
        out.append(Example(ids, tuple([IGNORE] * (n - answer)) + ids[n - answer :]))
    return out


def test_micro_batches_keep_the_order_and_the_budgets() -> None:
    examples = _examples(50)
    for per_batch, budget in [(32, 0), (3, 0), (32, 100), (4, 100), (32, 1)]:
        chunks = micro_batches(examples, per_batch, budget)
        assert [e for c in chunks for e in c] == examples
        assert all(0 < len(c) <= per_batch for c in chunks)
        if budget:  # over the budget only where one example alone is longer
            assert all(sum(map(len, c)) <= budget or len(c) == 1 for c in chunks)
    assert len(micro_batches(examples, 32, 0)) == 1
    assert len(micro_batches(examples, 32, 1)) == len(examples)
    assert [len(c) for c in micro_batches(examples, 32, 100)] == [1, 3, 3, 2, 1]  # 90 | 12 15 70 | 9 20 11 | 85 14 | 10


@pytest.fixture
def tiny_model(tiny_hero: dict[str, Any], shared_realm: Path) -> Any:
    return load_hero(tiny_hero, shared_realm, hero_id="tiny").model


def _step(model: Any, examples: list[Example], budget: int, school: Any) -> tuple[float, float, list[Any]]:
    """One step's (loss, grad norm, gradients) from the same starting weights, as the loop calls it."""
    accelerator = make_accelerator("fp32")
    model.zero_grad(set_to_none=True)
    kwargs: dict[str, Any] = dict(
        micro_batch=32,
        batching=dict(packing=True, max_length=128, pad_id=0),
        max_grad_norm=1e9,  # no clipping: the raw gradients are compared
        token_budget=budget,
    )
    school.start(accelerator, lambda: model, None, lambda: None)
    loss, norm = school.accumulate(accelerator, model, examples, **kwargs)
    grads = [p.grad.detach().clone() for p in model.parameters() if p.grad is not None]
    return loss, norm, grads


def test_a_micro_batched_step_is_the_one_pass_step(tiny_model: Any, make_job: Any) -> None:
    """Scribe (the default school), through `School.accumulate` as the loop calls it. (The Oracle
    normalises its token weights per micro-batch, as it did with example-count micro-batches, so
    its steps match one pass only approximately.)"""
    examples = _examples(tiny_model.config.vocab_size)
    school = make_school(make_job())
    whole = _step(tiny_model, examples, 0, school)
    for budget in (100, 40):
        assert len(micro_batches(examples, 32, budget)) > 2
        split = _step(tiny_model, examples, budget, school)
        assert split[0] == pytest.approx(whole[0], rel=1e-5)
        assert split[1] == pytest.approx(whole[1], rel=1e-4)
        assert len(split[2]) == len(whole[2])
        for a, b in zip(split[2], whole[2], strict=True):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
    # The check can fail: micro-batches each normalised by their own labels give other gradients.
    accelerator = make_accelerator("fp32")
    tiny_model.zero_grad(set_to_none=True)
    for chunk in micro_batches(examples, 32, 40):
        accumulate_gradients(
            accelerator,
            tiny_model,
            chunk,
            micro_batch=32,
            batching=dict(packing=True, max_length=128, pad_id=0),
            max_grad_norm=1e9,
        )
    wrong = [p.grad for p in tiny_model.parameters() if p.grad is not None]
    assert not all(torch.allclose(a, b, rtol=1e-2, atol=1e-6) for a, b in zip(wrong, whole[2], strict=True))


def test_the_progress_callback_counts_every_micro_batch(tiny_model: Any) -> None:
    calls: list[tuple[int, int]] = []
    accumulate_gradients(
        make_accelerator("fp32"),
        tiny_model,
        _examples(tiny_model.config.vocab_size),
        micro_batch=32,
        batching=dict(packing=True, max_length=128, pad_id=0),
        max_grad_norm=1.0,
        token_budget=100,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls == [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]


def test_a_long_step_sends_its_micro_batches_before_its_step(make_job: Any, battle: Any) -> None:
    """A tiny token budget cuts every step into several micro-batches; with no minimum time the
    trainer reports each one but the last, then the Step (no timing involved)."""
    stopped, events = battle(make_job(max_steps=3, micro_batch_tokens=24, step_progress_after_s=0.0))
    assert stopped.step == 3
    progress = events.of(StepProgress)
    assert progress, "no StepProgress from a step of several micro-batches"
    for step in (1, 2, 3):
        mine = [p for p in progress if p.step == step]
        assert mine and all(p.total > 1 and 1 <= p.done < p.total for p in mine)
        assert [p.done for p in mine] == list(range(1, mine[0].total))
        assert all(0 < p.tokens_done < p.tokens for p in mine)
        at_step = next(i for i, e in enumerate(events) if isinstance(e, Step) and e.step == step)
        assert all(events.index(p) < at_step for p in mine)  # the Step ends them
    # The default (a step must run 1 s first) says nothing for these millisecond steps... unless
    # the machine is very slow; either way, never after the last micro-batch.
    _, quiet = battle(make_job(max_steps=2, micro_batch_tokens=24))
    assert all(p.done < p.total for p in quiet.of(StepProgress))


def test_one_pass_steps_send_no_step_progress(make_job: Any, battle: Any) -> None:
    _, events = battle(make_job(max_steps=2, step_progress_after_s=0.0))  # no token budget: one pass
    assert events.of(StepProgress) == []


def test_the_val_loss_is_the_same_in_token_budgeted_passes(tiny_model: Any) -> None:
    examples = _examples(tiny_model.config.vocab_size)
    whole = eval_loss(tiny_model, examples, 32, True, 128, 0, "cpu")
    assert whole is not None
    assert eval_loss(tiny_model, examples, 32, True, 128, 0, "cpu", token_budget=40) == pytest.approx(whole, rel=1e-5)
