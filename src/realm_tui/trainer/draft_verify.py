"""Greedy decoding checked against a draft, exactly: speculative verification with the expected
answer as the draft.

An eval knows each problem's expected answer. After the prefill, a row whose greedy first token is
its draft's first token is promising: it leaves the batch (its cache copied out, with the shared
prefix put back in front) and its draft is fed in chunks, one forward call each. The logits at a
chunk's columns are the greedy choices after each draft token, so the row's greedy output is the
draft up to the first column whose choice differs, then that choice: those rows keep the agreed
columns, hide the rest of the chunk and decode on from there (every chunk's such rows in one batch,
`evaluate._decode_parts`, with the caller's early stop); rows that agree with all of the chunk and
whose next choice is the draft's next token go on to the next chunk, FIRST_CHUNK tokens, then
CHUNK_GROWTH times more each time (a hero that goes wrong early wastes little of a long draft). A
right answer is thus a few forward calls and no decoding step, and the output is token for token
plain greedy decoding (the same argmax at the same positions; only the float summation order of a
multi-token call differs from step-by-step ones, which `tests/trainer/test_eval_verdicts.py` checks
on 1,000+ problems).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from realm_tui.trainer.attention_masks import additive_mask_dtype, causal_additive_mask
from realm_tui.trainer.data import left_pad
from realm_tui.trainer.decode_rows import Feed, Rows
from realm_tui.trainer.kv_cache import take_rows

FIRST_CHUNK = 8
"""Draft tokens fed in a promising row's first chunk."""
CHUNK_GROWTH = 4
"""Each further chunk is this many times longer (8, 32, 128, ...)."""


def check_drafts(
    logits: torch.Tensor,
    drafts: list[list[int]],
    mask: torch.Tensor,
    positions: torch.Tensor,
    produced: list[list[int]],
    done: list[bool],
    limits: list[int],
) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    """Compare each row's greedy choices in the last forward call with its draft.

    `logits` are the call's last columns; each row's draft sits right-aligned at the end of it,
    after one column that predicts the draft's first token. Fills `produced`/`done` for the agreed
    part; masks the cache columns of the draft after the first difference (in place). Returns the
    next token per row (the model's own choice after the agreed part), the position the next fed
    token takes, and the trailing columns each row hides."""
    rows, kept = logits.shape[0], logits.shape[1]
    choices = logits.argmax(dim=-1).tolist()  # rows x kept: the greedy pick after each column
    first = [0] * rows
    dead = [0] * rows
    next_pos = positions[:, -1:].clone()
    width = mask.shape[1]
    for r in range(rows):
        g = drafts[r]
        # Column c (of the last `kept`) predicts g[j] for j = c - (kept - 1 - len(g)).
        picks = choices[r][kept - 1 - len(g) :]
        k = next((j for j, tok in enumerate(g) if picks[j] != tok), len(g))
        produced[r] = g[:k]
        if done[r]:
            produced[r] = []
            continue
        if k == len(g) and len(g) >= limits[r]:
            done[r] = True  # the draft filled the whole budget, as greedy would have
            continue
        first[r] = picks[k]
        # The model's own token replaces g[k]: it sits at that position, and the draft's columns
        # from k on are hidden from every later step.
        mask[r, width - (len(g) - k) :] = 0
        next_pos[r, 0] = positions[r, -1] - (len(g) - k) + 1
        dead[r] = len(g) - k
    return torch.tensor(first, dtype=torch.long, device=logits.device), next_pos, dead


@dataclass
class Pending:
    """Promising rows, out of their batch: greedy so far is the start of their drafts."""

    parents: list[int]
    """Each row's index in the batch it left."""
    agreed: list[list[int]]
    """Each row's greedy tokens so far, the next one (the draft's, not yet fed) included."""
    past: Any
    """Their cache (every column: the shared prefix, padding, prompt, fed draft)."""
    mask: torch.Tensor
    next_pos: torch.Tensor


def split_promising(
    model: Any, rows: Rows, feed: Feed, drafts: Sequence[Sequence[int]], before: Sequence[Sequence[int]]
) -> Pending | None:
    """The rows of `rows` (after `check_drafts`) whose next greedy token is their draft's next and
    whose draft and budget go on: copied out of `feed`'s cache and marked done in `rows` (the
    caller fills their output in). `before[r]`: row r's greedy tokens before its `produced`."""
    assert feed.first is not None
    first = feed.first.tolist()
    picked, agreed = [], []
    for r, draft in enumerate(drafts):
        so_far = len(before[r]) + len(rows.produced[r])
        if rows.done[r] or feed.dead[r] or so_far + 1 >= rows.limits[r] + len(before[r]):
            continue
        if so_far + 1 < len(draft) and first[r] == draft[so_far]:
            picked.append(r)
            agreed.append([*before[r], *rows.produced[r], first[r]])
    if not picked:
        return None
    index = torch.tensor(picked, dtype=torch.long, device=feed.mask.device)
    mask = feed.mask[index]
    prefix = None
    if feed.prefix is not None:
        prefix = (feed.prefix.keys, feed.prefix.values)
        mask = torch.cat([mask.new_ones((len(picked), feed.prefix.columns)), mask], dim=1)
    capacity = mask.shape[1] + max(rows.limits[r] for r in picked) + 2
    past = take_rows(model, feed.past, index, capacity, prefix)
    for r in picked:
        rows.done[r] = True
    return Pending(picked, agreed, past, mask, feed.next_pos[index])


@dataclass
class Part:
    """Rows of a chunk's batch that left their drafts and decode on (`evaluate._decode_parts`)."""

    rows: Rows
    feed: Feed
    index: list[int]
    """The rows, by their index in the chunk's batch."""
    parents: list[int]
    """Their rows in the outer batch."""
    before: list[list[int]]
    """Each one's greedy output so far (the next token, `feed.first`, not included)."""


def verify_pending(
    model: Any,
    pending: Pending | None,
    rows: Rows,
    drafts: Sequence[Sequence[int]],
    logits_budget: int,
    on_step: Callable[[int], None] | None,
) -> list[Part]:
    """Check the pending rows' drafts (see the module), chunk after chunk, until none is pending.
    Fills `rows.produced` of the rows a chunk finished; returns the rows that left their drafts,
    every chunk's together, to decode on in one batch. `on_step(rows finished)` after each chunk."""
    parts: list[Part] = []
    chunk = FIRST_CHUNK
    while pending is not None:
        sub, feed = _feed_chunk(model, pending, rows, drafts, chunk, logits_budget)
        parents, agreed = pending.parents, pending.agreed
        pending = split_promising(model, sub, feed, [drafts[r] for r in parents], agreed)
        still = set() if pending is None else {parents[i] for i in pending.parents}
        pending = None if pending is None else _reindex(pending, parents)
        going = [i for i, r in enumerate(parents) if not sub.done[i]]
        for i, r in enumerate(parents):
            if r not in still and sub.done[i]:
                rows.produced[r] = agreed[i] + sub.produced[i]
        if going:
            before = [agreed[i] + sub.produced[i] for i in going]
            parts.append(Part(sub, feed, going, [parents[i] for i in going], before))
        if on_step is not None:
            on_step(sum(rows.done) - len(still) - sum(len(p.index) for p in parts))
        chunk *= CHUNK_GROWTH
    return parts


def _reindex(pending: Pending, parents: list[int]) -> Pending:
    """`pending` with its rows named by their index in the outer batch."""
    pending.parents = [parents[i] for i in pending.parents]
    return pending


def _feed_chunk(
    model: Any, pending: Pending, rows: Rows, drafts: Sequence[Sequence[int]], chunk: int, logits_budget: int
) -> tuple[Rows, Feed]:
    """One forward call over the next chunk of each pending row's draft (left-padded, so every
    chunk ends in the last column), checked by `check_drafts`: the rows' state and feed after it."""
    count = len(pending.parents)
    vocab = int(model.get_output_embeddings().weight.shape[0])
    chunk = max(1, min(chunk, logits_budget // (count * vocab)))
    feeds, limits = [], []
    for i, r in enumerate(pending.parents):
        start, limit = len(pending.agreed[i]) - 1, rows.limits[r] - len(pending.agreed[i])
        feeds.append(list(drafts[r][start : start + min(chunk, limit + 1)]))  # its next token first
        limits.append(limit)
    width = max(len(f) for f in feeds)
    ids, own = left_pad(feeds, 0, pending.mask.device)
    own = own.to(pending.mask.dtype)
    positions = pending.next_pos + (own.cumsum(-1) - 1).clamp(min=0)
    mask = torch.cat([pending.mask, own], dim=1)
    additive = additive_mask_dtype(model)
    seen = mask if additive is None else causal_additive_mask(mask, width, additive)
    out = model(
        input_ids=ids, attention_mask=seen, position_ids=positions, past_key_values=pending.past, use_cache=True,
        logits_to_keep=width,
    )  # fmt: skip
    hopeless, agreed = rows.hopeless, pending.agreed
    sub = Rows(limits, rows.stop_ids, None if hopeless is None else _after(hopeless, pending.parents, agreed))
    drafts_fed = [f[1:] for f in feeds]
    first, next_pos, dead = check_drafts(out.logits, drafts_fed, mask, positions, sub.produced, sub.done, limits)
    return sub, Feed(out.past_key_values, mask, positions, out.logits, next_pos, first=first, dead=dead)


def _after(
    hopeless: Callable[[int, list[int]], bool], parents: list[int], agreed: list[list[int]]
) -> Callable[[int, list[int]], bool]:
    """The outer batch's `hopeless`, for rows that continue after their `agreed` tokens."""
    return lambda i, ids: hopeless(parents[i], agreed[i] + ids)
