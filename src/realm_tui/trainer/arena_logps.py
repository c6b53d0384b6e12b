"""Log-probabilities of the Arena's answers with each prompt forwarded once (not once per answer).

A step trains on G answers to each of B problems. As full rows (prompt + answer) the prompt is
most of the work: a BIN level-3 prompt is ~40 tokens and its answer ~6, so 8 answers cost 8 × 46
token positions. Here each distinct prompt of a chunk goes through the model once, left-padded
(positions restarting after the padding, as the sampler does), keeping its key/value cache with
gradients; the cache is then indexed out to the answers (one row per answer; gradients of all G
answers flow back into the one prompt pass), and the answers go through on top of it: 40 + 8 × 7
positions. log p(first answer token) comes from the prompt's last position, the rest from the
answer pass. The result equals the full-row computation (`tests/trainer/test_arena.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from transformers import DynamicCache

from realm_tui.trainer.arena import token_logps
from realm_tui.trainer.data import IGNORE, left_pad


def _right_pad(rows: Sequence[Sequence[int]], fill: int) -> torch.Tensor:
    width = max(len(r) for r in rows)
    out = torch.full((len(rows), width), fill, dtype=torch.long)
    for r, row in enumerate(rows):
        out[r, : len(row)] = torch.tensor(list(row), dtype=torch.long)
    return out


def answer_logps(
    model: Any,
    prompts: Sequence[Sequence[int]],
    answers: Sequence[Sequence[int]],
    prompt_of: Sequence[int],
    *,
    pad_id: int,
    device: Any,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(log p `[N, A]`, mask `[N, A]`) of each answer's tokens (its stop token included), where
    answer n follows `prompts[prompt_of[n]]`; A is the longest answer, right-padded."""
    if not answers or any(not a for a in answers) or any(not p for p in prompts):
        raise ValueError("every prompt and every answer needs at least one token")
    ids, mask = (t.to(device) for t in left_pad(prompts, pad_id))
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    out = model(
        input_ids=ids,
        attention_mask=mask,
        position_ids=positions,
        past_key_values=DynamicCache(),
        use_cache=True,
        logits_to_keep=1,
    )
    index = torch.tensor(list(prompt_of), dtype=torch.long, device=device)
    cache = out.past_key_values
    cache.batch_select_indices(index)  # one row per answer (repeated prompts: gradients add up)
    first = out.logits[:, -1, :].float().index_select(0, index)
    labels = _right_pad(answers, IGNORE).to(device)
    inputs = labels.clamp(min=0).masked_fill(labels == IGNORE, pad_id)
    answer_mask = (labels != IGNORE).long()
    start = positions[:, -1:].index_select(0, index) + 1
    steps = torch.arange(labels.shape[1], device=device).unsqueeze(0)
    rest = model(
        input_ids=inputs,
        attention_mask=torch.cat([mask.index_select(0, index), answer_mask], dim=1),
        position_ids=start + steps,
        past_key_values=cache,
        use_cache=True,
    ).logits.float()
    # Position j of the answer is predicted by the prompt's last position (j = 0) or by answer
    # position j − 1; the last answer position's own logits predict nothing trained.
    logits = torch.cat([first.unsqueeze(1), rest[:, :-1, :]], dim=1)
    return token_logps(logits, labels), answer_mask.bool()


def full_row_logps(
    model: Any,
    prompts: Sequence[Sequence[int]],
    answers: Sequence[Sequence[int]],
    prompt_of: Sequence[int],
    *,
    pad_id: int,
    device: Any,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The same as `answer_logps` from full rows (prompt + answer each): for a model that keeps no
    cache while training (gradient checkpointing)."""
    rows = [list(prompts[p]) + list(a) for p, a in zip(prompt_of, answers, strict=True)]
    ids = _right_pad(rows, pad_id).to(device)
    mask = (torch.arange(ids.shape[1]).unsqueeze(0) < torch.tensor([[len(r)] for r in rows])).long().to(device)
    positions = torch.arange(ids.shape[1], device=device).unsqueeze(0).expand(len(rows), -1)
    logits = model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=False).logits.float()
    labels = _right_pad(answers, IGNORE).to(device)
    starts = [len(prompts[p]) - 1 for p in prompt_of]
    width = labels.shape[1]
    picked = torch.stack(
        [
            logits[n, s : s + width] if s + width <= ids.shape[1] else _tail(logits[n, s:], width)
            for n, s in enumerate(starts)
        ]
    )
    return token_logps(picked, labels), labels != IGNORE


def _tail(logits: torch.Tensor, width: int) -> torch.Tensor:
    """`logits` `[t, V]` padded with zeros to `[width, V]` (positions past a row's end)."""
    return torch.cat([logits, logits.new_zeros((width - logits.shape[0], logits.shape[1]))])
