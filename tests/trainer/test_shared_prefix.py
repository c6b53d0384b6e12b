"""Decoding over a shared prefix kept once (`trainer/shared_prefix.py`) gives the answers of every
row holding its own copy of the prefix's cache."""

from __future__ import annotations

import pytest
import torch
from trainer_testkit import shaken_tiny_hero

from realm_tui.skills import get_skill
from realm_tui.trainer import evaluate
from realm_tui.trainer.evaluate import generate_ids, inference_mode, prompt_ids, score_problems
from realm_tui.trainer.shared_prefix import SharedPrefix, shared_prefix_attention


@pytest.fixture(scope="module")
def noisy_model():
    """A tiny hero with shaken weights, so answers differ (see `shaken_tiny_hero`)."""
    return shaken_tiny_hero(5)


class _Layer(torch.nn.Module):
    layer_idx = 0


@pytest.mark.parametrize("new", [1, 3])
def test_attention_over_a_kept_apart_prefix_is_the_attention_over_all_columns(new: int) -> None:
    """Random queries, `new` tokens a row (3: a checked draft, `trainer.self_draft`), 4 query heads
    on 2 key/value heads, a masked padding stretch, causal among the new tokens: the same output
    as SDPA over [prefix copied into every row][own columns]."""
    gen = torch.Generator().manual_seed(0)
    rows, heads, kv_heads, dim, prefix_cols, own_cols = 5, 4, 2, 16, 7, 9
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


def _sy_prompts(tokenizer, n: int = 12) -> list[list[int]]:
    return [prompt_ids(p.messages()[:-1], tokenizer) for p in get_skill("sy").generate(1, n, seed=3)]


def test_the_prefill_keeps_the_shared_prefix_once(noisy_model) -> None:
    """The rows' cache and mask hold only their own columns; the prefix's cache is one row."""
    model, tokenizer = noisy_model
    prompts = _sy_prompts(tokenizer)
    shared = evaluate._shared_prefix(prompts)
    assert shared > 100, "SY prompts share their instructions"
    with inference_mode(model):
        feed = evaluate._prefill(model, prompts, int(tokenizer.pad_token_id), 8)
    assert isinstance(feed.prefix, SharedPrefix) and feed.prefix.columns == shared
    assert feed.prefix.keys[0].shape[0] == 1
    own = max(len(p) for p in prompts) - shared
    assert feed.mask.shape == (len(prompts), own) and feed.past.get_seq_length() == own


@pytest.mark.parametrize("grouped", [False, True])
def test_answers_equal_those_with_the_prefix_copied_into_every_row(noisy_model, monkeypatch, grouped: bool) -> None:
    model, tokenizer = noisy_model
    prompts = _sy_prompts(tokenizer)
    if grouped:
        monkeypatch.setattr(evaluate, "PREFILL_GROUP_TOKENS", 300)  # groups of one or two rows
    kwargs = {"max_new_tokens": [20 + i for i in range(len(prompts))], "pad_id": int(tokenizer.pad_token_id)}
    apart = generate_ids(model, prompts, stop_ids=set(), **kwargs)
    monkeypatch.setattr(evaluate, "SHARED_PREFIX_APART", False)
    copied = generate_ids(model, prompts, stop_ids=set(), **kwargs)
    assert apart == copied
    assert len({tuple(a) for a in apart}) > len(apart) // 2, "answers differ between prompts"


def test_an_eval_scores_the_same_either_way(noisy_model, monkeypatch) -> None:
    model, tokenizer = noisy_model
    skill = get_skill("sy")
    problems = skill.generate(1, 10, seed=4)
    apart = score_problems(model, tokenizer, skill, problems)
    monkeypatch.setattr(evaluate, "SHARED_PREFIX_APART", False)
    copied = score_problems(model, tokenizer, skill, problems)
    assert apart.results == copied.results
