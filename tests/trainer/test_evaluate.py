"""Generation and evals: batched (left-padded, KV cache) answers equal one-at-a-time answers."""

from __future__ import annotations

import pytest
import torch
from trainer_testkit import TINY_NANO

from realm_tui.skills import get_skill
from realm_tui.trainer import nano
from realm_tui.trainer.data import ChatFormat
from realm_tui.trainer.evaluate import (
    TEXT_LIMIT,
    evaluate_skill,
    generate_ids,
    generate_texts,
    inference_mode,
    prompt_ids,
    score_problems,
)


@pytest.fixture(scope="module")
def noisy_model():
    """A tiny hero whose weights are shaken so different prompts get clearly different answers
    (a freshly initialised model answers everything alike, which would prove little)."""
    tokenizer = nano.build_tokenizer()
    model = nano.build_model(nano.NanoSpec.from_dict(TINY_NANO), tokenizer)
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * 0.5)
    model.train()  # as in a battle: evaluate must switch to eval mode and back
    return model, tokenizer


def mixed_problems():
    # Levels 1-6: prompts of different lengths, so a batch really is left-padded.
    skill = get_skill("bin")
    return [p for level in (1, 3, 6) for p in skill.generate(level, 6, seed=level)]


def test_batched_answers_equal_one_at_a_time(noisy_model) -> None:
    model, tokenizer = noisy_model
    convs = [p.messages()[:-1] for p in mixed_problems()]
    assert len({len(prompt_ids(c, tokenizer)) for c in convs}) > 3
    batched = generate_texts(model, tokenizer, convs, max_new_tokens=10, batch_size=8)
    single = generate_texts(model, tokenizer, convs, max_new_tokens=10, batch_size=1)
    assert batched == single
    assert len(set(single)) > len(single) // 2, "answers differ between prompts"
    assert model.training and model.config.use_cache is False, "train mode and config restored"


def test_each_row_stops_at_its_own_token_limit(noisy_model) -> None:
    """No stop ids: the model cannot end a reply, so only each row's own limit ends it. A batch
    must give every row exactly its budget, as when the row is decoded alone."""
    model, tokenizer = noisy_model
    prompts = [prompt_ids(p.messages()[:-1], tokenizer) for p in mixed_problems()[::3]]
    budgets = [3 + 2 * (i % 5) for i in range(len(prompts))]
    assert len(set(budgets)) > 1 and len({len(p) for p in prompts}) > 1
    batched = generate_ids(model, prompts, max_new_tokens=budgets, pad_id=0, stop_ids=set())
    single = [
        generate_ids(model, [p], max_new_tokens=b, pad_id=0, stop_ids=set())[0]
        for p, b in zip(prompts, budgets, strict=True)
    ]
    assert [len(x) for x in batched] == budgets
    assert batched == single
    with pytest.raises(ValueError, match="limits"):
        generate_ids(model, prompts, max_new_tokens=budgets[:-1], pad_id=0, stop_ids=set())


def test_batched_answers_with_per_problem_budgets_equal_one_at_a_time(noisy_model) -> None:
    """The eval path (`generate_texts` with one budget per problem, as `score_problems` calls it)."""
    model, tokenizer = noisy_model
    convs = [p.messages()[:-1] for p in mixed_problems()]
    budgets = [2 + (i * 7) % 11 for i in range(len(convs))]
    batched = generate_texts(model, tokenizer, convs, max_new_tokens=budgets, batch_size=8)
    single = generate_texts(model, tokenizer, convs, max_new_tokens=budgets, batch_size=1)
    cut = [len(tokenizer(t, add_special_tokens=False)["input_ids"]) == b for t, b in zip(single, budgets, strict=True)]
    assert sum(cut) > len(cut) // 2, "most replies end at their budget, so an extra token would show"
    assert batched == single


def test_sampling_is_reproducible_with_a_seed(noisy_model) -> None:
    model, tokenizer = noisy_model
    convs = [p.messages()[:-1] for p in mixed_problems()[:4]]
    a = generate_texts(model, tokenizer, convs, max_new_tokens=8, temperature=1.0, seed=5)
    b = generate_texts(model, tokenizer, convs, max_new_tokens=8, temperature=1.0, seed=5)
    assert a == b


def test_prompt_ids_are_a_prefix_of_the_training_tokens() -> None:
    from realm_tui.trainer.data import tokenize_chat

    tokenizer = nano.build_tokenizer()
    problem = get_skill("bin").generate(3, 1, seed=1)[0]
    chat = ChatFormat(default_system="Be exact.")
    full = tokenize_chat(problem.messages(), tokenizer, 512, chat)
    prefix = prompt_ids(problem.messages()[:-1], tokenizer, chat)
    assert list(full.input_ids[: len(prefix)]) == prefix
    first_label = next(i for i, x in enumerate(full.labels) if x != -100)
    assert first_label == len(prefix), "the answer starts right where generation starts"


def test_eval_scores_with_the_skill_and_records_each_problem(noisy_model) -> None:
    model, tokenizer = noisy_model
    skill = get_skill("bin")
    result = evaluate_skill(model, tokenizer, skill, 2, 10, step=7, request_id="r1")
    assert (result.step, result.skill, result.level, result.total, result.request_id) == (7, "bin", 2, 10, "r1")
    assert len(result.results) == 10
    for r in result.results:
        assert set(r) >= {"prompt", "expected", "got", "correct", "primitives"}
        assert r["primitives"] and isinstance(r["correct"], bool)
    assert result.accuracy == sum(r["correct"] for r in result.results) / 10


def test_perfect_answers_score_one_and_long_text_is_clipped(noisy_model, monkeypatch) -> None:
    model, tokenizer = noisy_model
    skill = get_skill("bin")
    problems = skill.heldout_eval_set(3, 12)

    x = tokenizer("x", add_special_tokens=False)["input_ids"]

    def fake_generate_ids(model, prompts, *, guesses, **kw):
        # Replies are the gold answers (the guesses), one with 1000 extra characters.
        first = [problems[0].prompt in tokenizer.decode(p) for p in prompts]
        return [list(g) + (x * 1000 if f else []) for g, f in zip(guesses, first, strict=True)]

    monkeypatch.setattr("realm_tui.trainer.evaluate.generate_ids", fake_generate_ids)
    scored = score_problems(model, tokenizer, skill, problems)
    assert [r["prompt"] for r in scored.results] == [p.prompt for p in problems], "results in problem order"
    assert scored.accuracy == pytest.approx(11 / 12)
    assert max(len(r["got"]) for r in scored.results) == TEXT_LIMIT


def test_inference_mode_restores_eval_mode_too(noisy_model) -> None:
    model, _ = noisy_model
    model.eval()
    with inference_mode(model):
        assert not torch.is_grad_enabled()
    assert not model.training
    model.train()


def test_no_reply_outgrows_the_bound_a_hopeless_row_is_judged_by() -> None:
    """What `score_problems` assumes when it gives up on a row: the reply so far, less a trailing
    unfinished character (U+FFFD), stays the start of the whole reply, and each further token adds
    at most `max_chars_per_token` characters (`settled_text`). Random replies, byte-fallback
    tokens (a run of them that is not valid UTF-8 turns even an ASCII byte into U+FFFD) and
    multi-byte characters included."""
    import random

    from realm_tui.trainer.evaluate import max_chars_per_token, settled_text

    tokenizer = nano.build_tokenizer()
    bound = max_chars_per_token(tokenizer)
    assert bound == 1, "the nano tokenizer's decoder only concatenates single characters"
    rng = random.Random(0)
    text = 'Binary: ①⓪ = 🦊 {"words":["MUSIC"]} é ß'
    ids = list(tokenizer(text, add_special_tokens=False)["input_ids"]) + list(range(len(tokenizer)))
    for _ in range(200):
        reply = [rng.choice(ids) for _ in range(rng.randint(1, 30))]
        whole = tokenizer.decode(reply, skip_special_tokens=True)
        for k in range(len(reply)):
            stable, more = settled_text(tokenizer, reply[:k], len(reply) - k, bound)
            assert whole.startswith(stable), (reply, k, stable, whole)
            assert len(whole) - len(stable) <= more, (reply, k, stable, whole)


def test_a_long_prefill_goes_in_groups_of_rows_with_progress_between(noisy_model, monkeypatch) -> None:
    """A prefill over more than PREFILL_GROUP_TOKENS own tokens runs a group of rows at a time
    and calls `on_step` after each group but the last, before any decoding step; the answers are
    those of one prefill over every row (each row's numbers do not depend on its group)."""
    from realm_tui.trainer import evaluate

    model, tokenizer = noisy_model
    prompts = [prompt_ids(p.messages()[:-1], tokenizer) for p in mixed_problems()]
    kwargs = {"max_new_tokens": 6, "pad_id": int(tokenizer.pad_token_id), "stop_ids": set(), "shrink": False}
    whole = generate_ids(model, prompts, **kwargs)
    calls: list[int] = []
    monkeypatch.setattr(evaluate, "PREFILL_GROUP_TOKENS", 1)  # one row per group
    grouped = generate_ids(model, prompts, on_step=calls.append, **kwargs)
    assert grouped == whole
    # len(prompts) - 1 calls between the prefill's groups, then one after each of the 6 decoding steps.
    assert len(calls) == len(prompts) - 1 + 6
    assert model.training, "train mode restored"
