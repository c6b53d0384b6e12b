"""Cheap evals give exactly the verdicts of full greedy decoding.

`score_problems` checks each expected answer as a draft over the prefill's cache
(`trainer/draft_verify.py`: in chunks of 8, 32, ... tokens), decodes wrong answers on from their
first wrong token in a shrinking batch, and stops an answer once its skill proves it can no longer
score. Here its verdicts are compared with plain greedy decoding (every row to its
stop token or budget, scored by the skill) on more than 500 problems of each skill at several
levels, for an untrained and a briefly trained tiny dio-nano (the shipped architecture, small).
The reference copies the shared prompt prefix's cache into every row; the eval keeps it once
(`trainer/shared_prefix.py`), so that path is checked here too.
"""

from __future__ import annotations

import random

import pytest
import torch

from realm_tui.skills import get_skill
from realm_tui.trainer import draft_verify, evaluate, nano
from realm_tui.trainer.data import tokenize_chat
from realm_tui.trainer.evaluate import (
    DEFAULT_CHAT,
    GAVE_UP,
    TEXT_LIMIT,
    answer_budget,
    generate_ids,
    prompt_ids,
    score_problems,
    stop_token_ids,
)

# A hang guard: the module's hero trains 120 steps on its first test (62 s quiet; over 900 s at
# load 15 on 2 cores).
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

SPEC = {
    "hidden_size": 64,
    "num_layers": 2,
    "num_heads": 2,
    "num_kv_heads": 1,
    "head_dim": 32,
    "intermediate_size": 128,
    "max_position_embeddings": 1024,  # SY prompt + answer
    "seed": 7,
}
TRAIN_STEPS = 120


def _batch(examples: list, pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(e.input_ids) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), -100, dtype=torch.long)
    for r, e in enumerate(examples):
        ids[r, : len(e.input_ids)] = torch.tensor(e.input_ids)
        labels[r, : len(e.labels)] = torch.tensor(e.labels)
    return ids, labels


def briefly_trained(tokenizer) -> torch.nn.Module:
    """A few dozen seconds of training on BIN levels 1-2 and four SY puzzles: some BIN answers
    right, SY answers that start like the expected JSON and then go wrong."""
    torch.manual_seed(0)
    model = nano.build_model(nano.NanoSpec.from_dict(SPEC), tokenizer)
    bin_, sy = get_skill("bin"), get_skill("sy")
    bins = [tokenize_chat(p.messages(), tokenizer, 1024) for p in bin_.generate(1, 16, 0) + bin_.generate(2, 16, 0)]
    sys_ = [tokenize_chat(p.messages(), tokenizer, 1024) for p in sy.generate(1, 4, seed=1)]
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    model.train()
    for step in range(TRAIN_STEPS):
        rng = random.Random(step)
        ids, labels = _batch(rng.sample(bins, 6) + rng.sample(sys_, 2), int(tokenizer.pad_token_id))
        model(input_ids=ids, labels=labels).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    return model.eval()


@pytest.fixture(scope="module")
def heroes() -> tuple:
    torch.set_num_threads(1)
    tokenizer = nano.build_tokenizer()
    untrained = nano.build_model(nano.NanoSpec.from_dict(SPEC), tokenizer).eval()
    return tokenizer, {"untrained": untrained, "trained": briefly_trained(tokenizer)}


def full_greedy(model, tokenizer, problems, batch: int = 128) -> list[str]:
    """The reference: every row decoded to its stop token or its budget, nothing skipped, each
    row holding its own copy of the shared prefix's cache."""
    stops = stop_token_ids(tokenizer, DEFAULT_CHAT)
    texts: list[str] = []
    for i in range(0, len(problems), batch):
        assert not evaluate.SHARED_PREFIX_APART
        part = problems[i : i + batch]
        ids = generate_ids(
            model,
            [prompt_ids(p.messages()[:-1], tokenizer) for p in part],
            max_new_tokens=[answer_budget(p, tokenizer) for p in part],
            pad_id=int(tokenizer.pad_token_id),
            stop_ids=stops,
            shrink=False,
        )
        texts += [tokenizer.decode(x, skip_special_tokens=True) for x in ids]
    return texts


CASES = {"bin": ((1, 3, 6, 12), 130), "sy": ((1, 2, 3), 170)}


@pytest.mark.parametrize("hero", ["untrained", "trained"])
@pytest.mark.parametrize("skill_id", ["bin", "sy"])
def test_verdicts_equal_full_greedy_decoding(heroes, hero: str, skill_id: str, monkeypatch) -> None:
    tokenizer, models = heroes
    model, skill = models[hero], get_skill(skill_id)
    levels, per_level = CASES[skill_id]
    problems = [p for level in levels for p in skill.generate(level, per_level, seed=level)]
    if skill_id == "sy":
        problems = skill.generate(1, 4, seed=1) + problems  # the puzzles the trained hero saw
    assert len(problems) >= 500

    with monkeypatch.context() as copied:
        copied.setattr(evaluate, "SHARED_PREFIX_APART", False)
        reference = full_greedy(model, tokenizer, problems)
    verdicts = [skill.score(p, text) for p, text in zip(problems, reference, strict=True)]
    assert evaluate.SHARED_PREFIX_APART
    chunks: list[int] = []
    feed_chunk = draft_verify._feed_chunk

    def counted(model, pending, *args, **kwargs):  # a spy: the real chunk call, counted
        chunks.append(len(pending.parents))
        return feed_chunk(model, pending, *args, **kwargs)

    monkeypatch.setattr(draft_verify, "_feed_chunk", counted)
    scored = score_problems(model, tokenizer, skill, problems)

    assert [r["correct"] for r in scored.results] == verdicts
    gave_up = 0
    for result, text in zip(scored.results, reference, strict=True):
        if result["got"].endswith(GAVE_UP):  # the greedy output up to where it stopped
            gave_up += 1
            assert text.startswith(result["got"][: -len(GAVE_UP)].removesuffix("…"))
        else:
            assert result["got"] == (text if len(text) <= TEXT_LIMIT else text[: TEXT_LIMIT - 1] + "…")
    if hero == "trained":
        assert sum(chunks) > len(problems) // 4, "many rows go on with their drafts"
    if hero == "trained" and skill_id == "bin":
        assert 0 < sum(verdicts) < len(verdicts), "some right, some wrong: both paths are taken"
    if skill_id == "bin":
        assert gave_up > 0, "wrong BIN answers stop early"
