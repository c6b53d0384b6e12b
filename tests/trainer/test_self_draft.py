"""Rows that decode on check drafts of their own (`trainer/self_draft.py`): several tokens a call
where the drafts hold, and always exactly the tokens of plain greedy decoding."""

from __future__ import annotations

import pytest
import torch
from trainer_testkit import TINY_NANO

from realm_tui.skills import get_skill
from realm_tui.trainer import evaluate, nano, self_draft
from realm_tui.trainer.evaluate import DEFAULT_CHAT, generate_ids, prompt_ids, stop_token_ids
from realm_tui.trainer.self_draft import Lookup, call_width


def test_a_repeat_is_drafted_on_and_the_expected_answer_at_its_place() -> None:
    lookup = Lookup([[10, 11, 12, 13]], 1, end=99)
    assert lookup.draft(0, [10, 7], 5) == [12, 13, 99], "the expected answer after a wrong token"
    lookup.observe(0, 3, 0)  # it failed: the row switches to its history
    assert lookup.draft(0, [10, 7, 5, 7, 5], 5) == [7, 5, 7, 5, 7], "a repeat runs on"
    assert lookup.draft(0, [10, 7, 5, 7, 5, 11], 3) == [12, 13, 10], "what followed in the expected answer"
    assert lookup.draft(0, [10, 7, 5, 7, 5, 11, 42], 3) == [], "a token never seen before: no draft"


def test_the_call_width_follows_how_often_drafts_held() -> None:
    assert call_width([8] * 50, [0.95] * 50, 300) > 4
    assert call_width([8] * 50, [0.05] * 50, 300) == 1
    assert call_width([0] * 50, [0.95] * 50, 300) == 1


@pytest.fixture(scope="module")
def tiny():
    """The untrained tiny hero (it repeats itself, as untrained heroes do) and the same hero with
    shaken weights (answers that differ), and prompts that share their first tokens."""
    tokenizer = nano.build_tokenizer()
    spec = dict(TINY_NANO, max_position_embeddings=1024)  # SY prompt + answer
    plain = nano.build_model(nano.NanoSpec.from_dict(spec), tokenizer).eval()
    shaken = nano.build_model(nano.NanoSpec.from_dict(spec), tokenizer)
    gen = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for p in shaken.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * 0.5)
    problems = get_skill("sy").generate(1, 6, seed=2) + get_skill("bin").generate(3, 6, seed=2)
    return tokenizer, {"untrained": plain, "shaken": shaken.eval()}, problems


@pytest.mark.parametrize("hero", ["untrained", "shaken"])
def test_drafted_decoding_gives_the_plain_greedy_tokens(tiny, hero: str, monkeypatch) -> None:
    tokenizer, models, problems = tiny
    model = models[hero]
    prompts = [prompt_ids(p.messages()[:-1], tokenizer) for p in problems]
    expected = [list(tokenizer(p.expected, add_special_tokens=False)["input_ids"]) for p in problems]
    kw = {
        "max_new_tokens": [len(e) + 6 for e in expected],
        "pad_id": int(tokenizer.pad_token_id),
        "stop_ids": stop_token_ids(tokenizer, DEFAULT_CHAT),
    }
    plain = generate_ids(model, prompts, shrink=False, **kw)
    widths: list[int] = []
    chosen = self_draft.call_width

    def spied(*args, **kwargs):  # a spy: the real choice, recorded
        widths.append(chosen(*args, **kwargs))
        return widths[-1]

    monkeypatch.setattr(self_draft, "call_width", spied)
    assert generate_ids(model, prompts, guesses=expected, **kw) == plain
    if hero == "untrained":
        assert max(widths) >= 9, "a repeating hero takes many tokens a call"
        assert len(widths) < max(len(t) for t in plain) // 2
    monkeypatch.setattr(evaluate, "SHARED_PREFIX_APART", False)  # every row holds the prefix
    assert generate_ids(model, prompts, guesses=expected, **kw) == plain


@pytest.mark.parametrize("hero", ["untrained", "shaken"])
def test_drafted_decoding_runs_under_bf16_autocast(tiny, hero: str, monkeypatch) -> None:
    """A battle's model runs under accelerate's bf16 autocast, where a layer's keys come out fp32
    (RoPE's fp32 tables) and its values bf16: the rows the drafts leave are joined into one cache
    (`kv_cache.merge_rows`) with each kept in its own dtype (it once failed every battle eval with
    "Index put requires the source and destination dtypes match")."""
    from realm_tui.trainer import kv_cache

    tokenizer, models, problems = tiny
    prompts = [prompt_ids(p.messages()[:-1], tokenizer) for p in problems]
    expected = [list(tokenizer(p.expected, add_special_tokens=False)["input_ids"]) for p in problems]
    merged: list[int] = []
    real_merge = kv_cache.merge_rows

    def spied(*args, **kwargs):  # a spy: the real merge, counted
        merged.append(1)
        return real_merge(*args, **kwargs)

    monkeypatch.setattr(evaluate, "merge_rows", spied)
    # Prefill groups of a few rows: their caches are merged too (one group's cache is kept as it is).
    monkeypatch.setattr(evaluate, "PREFILL_GROUP_TOKENS", 16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = generate_ids(
            models[hero],
            prompts,
            guesses=expected,
            max_new_tokens=[len(e) + 6 for e in expected],
            pad_id=int(tokenizer.pad_token_id),
            stop_ids=stop_token_ids(tokenizer, DEFAULT_CHAT),
        )
    assert len(out) == len(prompts)
    assert merged, "the drafts' leftover rows were joined into one cache"
