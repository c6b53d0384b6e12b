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
from realm_tui.trainer.shared_prefix import SharedPrefix, shared_prefix_attention


class _Layer(torch.nn.Module):
    layer_idx = 0


def test_several_new_tokens_attend_over_a_kept_apart_prefix_as_over_all_columns() -> None:
    """3 new tokens a row, 4 query heads on 2 key/value heads, a masked padding stretch, causal
    among the new tokens: the same output as SDPA over [prefix copied into every row][own]."""
    gen = torch.Generator().manual_seed(0)
    rows, heads, kv_heads, dim, prefix_cols, own_cols, new = 5, 4, 2, 16, 7, 9, 3
    query = torch.randn(rows, heads, new, dim, generator=gen)
    pkeys, pvalues = (torch.randn(1, kv_heads, prefix_cols, dim, generator=gen) for _ in range(2))
    keys, values = (torch.randn(rows, kv_heads, own_cols, dim, generator=gen) for _ in range(2))
    low = torch.finfo(torch.float32).min
    mask = torch.zeros(rows, 1, new, own_cols)
    mask[1, ..., :3] = low  # row 1's padding
    mask[..., -new:] = torch.full((new, new), low).triu(1)  # a new token sees the ones before it
    got, _ = shared_prefix_attention(
        _Layer(), query, keys, values, mask, scaling=dim**-0.5,
        shared_prefix=SharedPrefix([pkeys], [pvalues], "sdpa"),
    )  # fmt: skip
    all_keys = torch.cat([pkeys.expand(rows, -1, -1, -1), keys], dim=2).repeat_interleave(2, dim=1)
    all_values = torch.cat([pvalues.expand(rows, -1, -1, -1), values], dim=2).repeat_interleave(2, dim=1)
    all_mask = torch.cat([torch.zeros(rows, 1, new, prefix_cols), mask], dim=-1)
    want = torch.nn.functional.scaled_dot_product_attention(query, all_keys, all_values, attn_mask=all_mask)
    assert got.shape == (rows, new, heads, dim)
    torch.testing.assert_close(got, want.transpose(1, 2), rtol=1e-5, atol=1e-6)


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
