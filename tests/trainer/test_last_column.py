"""A prefill that runs its last layer on the last column only (`trainer/last_column.py`) keeps
every cache column and the last column's logits of the whole layer, and so every answer."""

from __future__ import annotations

import contextlib

import pytest
import torch
from trainer_testkit import shaken_tiny_hero

from realm_tui.skills import get_skill
from realm_tui.trainer import evaluate
from realm_tui.trainer.evaluate import generate_ids, inference_mode, prompt_ids, stop_token_ids
from realm_tui.trainer.kv_cache import layer_keys_values
from realm_tui.trainer.last_column import decoder_layers, fits, last_layer_on_last_column


@pytest.fixture(scope="module")
def noisy_model():
    """A tiny hero with shaken weights, so answers differ (see `shaken_tiny_hero`)."""
    return shaken_tiny_hero(11)


def _prompts(tokenizer) -> list[list[int]]:
    """BIN prompts of several lengths (so the prefill pads) and SY ones (a long shared prefix)."""
    bins = [prompt_ids(p.messages()[:-1], tokenizer) for p in get_skill("bin").generate(3, 10, seed=2)]
    sys_ = [prompt_ids(p.messages()[:-1], tokenizer) for p in get_skill("sy").generate(1, 3, seed=4)]
    return bins + sys_


def _autocast(precision: str):
    return torch.autocast("cpu", dtype=torch.bfloat16) if precision == "bf16" else contextlib.nullcontext()


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
@pytest.mark.parametrize("kind", ["bin", "mixed"])
def test_the_prefill_keeps_every_cache_column_and_the_last_logits(noisy_model, monkeypatch, precision, kind) -> None:
    """The same keys and values at every layer and column, and the same last-column logits, with
    the last layer on the last column only as with the whole layer (bf16: as battles evaluate)."""
    model, tokenizer = noisy_model
    prompts = _prompts(tokenizer)
    prompts = prompts[:10] if kind == "bin" else prompts
    assert len({len(p) for p in prompts}) > 1  # rows of several lengths: the prefill pads
    feeds = {}
    for on in (False, True):
        monkeypatch.setattr(evaluate, "LAST_COLUMN_ONLY", on)
        with inference_mode(model), _autocast(precision):
            feeds[on] = evaluate._prefill(model, prompts, int(tokenizer.pad_token_id), 8)
    tol = {"rtol": 2e-2, "atol": 2e-2} if precision == "bf16" else {"rtol": 1e-5, "atol": 1e-5}
    torch.testing.assert_close(feeds[True].logits_all, feeds[False].logits_all, **tol)
    for got, want in zip(layer_keys_values(feeds[True].past), layer_keys_values(feeds[False].past), strict=True):
        for g, w in zip(got, want, strict=True):
            torch.testing.assert_close(g, w, **tol)
    assert torch.equal(feeds[True].mask, feeds[False].mask)


def test_only_the_last_column_goes_through_the_last_layers_mlp(noisy_model) -> None:
    """The saving is real: in a prefill the last layer's MLP sees one column a row, the layer
    before it every column; after the call the model has its own last layer back."""
    model, tokenizer = noisy_model
    prompts = _prompts(tokenizer)[:10]
    layers = decoder_layers(model)
    assert layers is not None and fits(model)
    own_last = layers[-1]
    seen: dict[str, tuple[int, ...]] = {}
    hooks = [
        layers[-1].mlp.register_forward_hook(lambda _m, args, _o: seen.__setitem__("last", tuple(args[0].shape))),
        layers[-2].mlp.register_forward_hook(lambda _m, args, _o: seen.__setitem__("before", tuple(args[0].shape))),
    ]
    try:
        with inference_mode(model):
            evaluate._prefill(model, prompts, int(tokenizer.pad_token_id), 8)
    finally:
        for hook in hooks:
            hook.remove()
    width = max(len(p) for p in prompts) - evaluate._shared_prefix(prompts)
    assert seen["last"][:2] == (len(prompts), 1)
    assert seen["before"][:2] == (len(prompts), width)
    assert layers[-1] is own_last


def test_the_model_gets_its_own_last_layer_back_after_an_error(noisy_model) -> None:
    model, _ = noisy_model
    layers = decoder_layers(model)
    assert layers is not None
    own_last = layers[-1]
    with pytest.raises(RuntimeError), last_layer_on_last_column(model):
        assert layers[-1] is not own_last
        raise RuntimeError("a forward call failed")
    assert layers[-1] is own_last


def test_a_model_of_other_layers_keeps_its_own() -> None:
    """Layers not built as Llama/Qwen3 layers are not taken (and nothing changes)."""
    model = torch.nn.Sequential(torch.nn.Linear(4, 4))
    assert not fits(model)
    with last_layer_on_last_column(model):
        assert isinstance(model[0], torch.nn.Linear)


@pytest.mark.parametrize("guess", [False, True])
def test_answers_are_the_same_either_way(noisy_model, monkeypatch, guess: bool) -> None:
    """Greedy answers (and with the expected answers as drafts) with and without it."""
    model, tokenizer = noisy_model
    problems = get_skill("bin").generate(3, 10, seed=2) + get_skill("sy").generate(1, 3, seed=4)
    prompts = _prompts(tokenizer)
    guesses = [list(tokenizer(p.expected, add_special_tokens=False)["input_ids"]) for p in problems]
    answers = {}
    for on in (False, True):
        monkeypatch.setattr(evaluate, "LAST_COLUMN_ONLY", on)
        answers[on] = generate_ids(
            model, prompts, max_new_tokens=[len(g) + 4 for g in guesses], pad_id=int(tokenizer.pad_token_id),
            stop_ids=stop_token_ids(tokenizer, evaluate.DEFAULT_CHAT), guesses=guesses if guess else None,
        )  # fmt: skip
    assert answers[True] == answers[False]
    assert any(answers[True])


def test_a_sharded_model_keeps_its_own_last_layer(noisy_model, monkeypatch) -> None:
    """Under FSDP a layer gathers its weights in its own forward, which `LastColumnLayer` would
    skip: a sharded model is never taken (`is_sharded` faked: this machine runs no process group)."""
    from realm_tui.trainer import last_column

    model, _ = noisy_model
    assert fits(model)
    monkeypatch.setattr(last_column, "is_sharded", lambda _model: True)
    assert not fits(model)
