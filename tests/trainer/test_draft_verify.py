"""A draft (an eval's expected answer) checked against greedy decoding: wherever a row leaves its
draft, it decodes on to exactly the output plain greedy decoding gives."""

from __future__ import annotations

import pytest
import torch
from trainer_testkit import TINY_NANO

from realm_tui.skills import get_skill
from realm_tui.trainer import draft_verify, nano
from realm_tui.trainer.evaluate import DEFAULT_CHAT, generate_ids, prompt_ids, stop_token_ids

BUDGET = 48


@pytest.fixture(scope="module")
def noisy():
    """A tiny hero with shaken weights (different prompts, different answers) and 12 prompts of
    different lengths that share their first tokens (the chat header)."""
    tokenizer = nano.build_tokenizer()
    model = nano.build_model(nano.NanoSpec.from_dict(TINY_NANO), tokenizer)
    gen = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * 0.5)
    skill = get_skill("bin")
    problems = [p for level in (1, 4, 8) for p in skill.generate(level, 4, seed=level)]
    return model.eval(), tokenizer, [prompt_ids(p.messages()[:-1], tokenizer) for p in problems]


def _wrong(token: int) -> int:
    return token + 1 if token + 1 < 200 else token - 1


def drafts_leaving_at(plain: list[list[int]]) -> list[list[int]]:
    """Per row, a draft that is its greedy output up to a different point (0, inside the first
    chunk, at its edge, inside the second, the whole output, the output and more), then wrong."""
    where = [0, 3, draft_verify.FIRST_CHUNK - 1, draft_verify.FIRST_CHUNK, 20, 33, None, "more"]
    out = []
    for r, tokens in enumerate(plain):
        at = where[r % len(where)]
        if at is None:
            out.append(list(tokens))
        elif at == "more":
            out.append(list(tokens) + [5, 6, 7])
        else:
            k = min(int(at), len(tokens) - 1)
            out.append(list(tokens[:k]) + [_wrong(tokens[k])] + list(tokens[k + 1 :]))
    return out


@pytest.mark.parametrize("stops", ["none", "chat"])
def test_a_row_that_leaves_its_draft_decodes_on_to_the_plain_greedy_output(noisy, stops: str, monkeypatch) -> None:
    model, tokenizer, prompts = noisy
    stop_ids = set() if stops == "none" else stop_token_ids(tokenizer, DEFAULT_CHAT)
    kw = {"max_new_tokens": BUDGET, "pad_id": int(tokenizer.pad_token_id), "stop_ids": stop_ids}
    plain = generate_ids(model, prompts, shrink=False, **kw)
    if stops == "none":
        assert all(len(t) == BUDGET for t in plain)
    assert len({tuple(t) for t in plain}) > len(plain) // 2, "answers differ between prompts"

    chunks: list[int] = []
    feed_chunk = draft_verify._feed_chunk

    def counted(model, pending, *args, **kwargs):  # a spy: the real chunk call, counted
        chunks.append(len(pending.parents))
        return feed_chunk(model, pending, *args, **kwargs)

    monkeypatch.setattr(draft_verify, "_feed_chunk", counted)
    assert generate_ids(model, prompts, guesses=drafts_leaving_at(plain), **kw) == plain
    assert len(chunks) >= 3, "drafts checked over several chunks (8, 32, 128 tokens)"
    assert chunks[0] == sum(1 for r in range(len(prompts)) if r % 8 != 0), "rows right at first go on"
