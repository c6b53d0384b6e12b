"""Sampled answers with the KV cache: G answers per prompt, temperature and top-p (nucleus).

The Arena samples here, and so does the answering child (sparring, `realm quest spar`) when it
asks for samples; greedy answers (temperature 0) go to `evaluate.generate_ids`, the evals' path,
untouched. Beside it on purpose: the greedy path keeps its guesses and early stops, and this one
adds what sampling needs without slowing it.

Each distinct prompt goes through the model once (left-padded, position ids restarting after the
padding, as in `evaluate`); its cache is then repeated for its G answers. Rows leave the batch and
the cache as they finish. The draw is deterministic in the `torch.Generator` given (the Arena
seeds one per step, so a resumed battle samples exactly the same answers).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from realm_tui.trainer.data import left_pad
from realm_tui.trainer.evaluate import inference_mode
from realm_tui.trainer.kv_cache import roomy_cache


@dataclass(frozen=True)
class Sampled:
    """Answers in row order: row r answers prompt r // group."""

    tokens: list[list[int]]
    """New tokens per row, its stop token excluded."""
    stopped: list[int | None]
    """The stop token that ended each row (None: it reached its limit)."""


def pick(logits: torch.Tensor, temperature: float, top_p: float, generator: torch.Generator | None) -> torch.Tensor:
    """One token per row: argmax when `temperature` is 0, else a draw from the temperature-scaled
    distribution cut to its smallest set of tokens whose probability reaches `top_p`."""
    if temperature <= 0:
        return logits.argmax(dim=-1)
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    if top_p < 1.0:
        sorted_probs, order = probs.sort(dim=-1, descending=True)
        before = sorted_probs.cumsum(dim=-1) - sorted_probs  # mass of the better tokens
        sorted_probs = torch.where(before < top_p, sorted_probs, torch.zeros_like(sorted_probs))
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_probs)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


def sample_ids(
    model: Any,
    prompts: Sequence[Sequence[int]],
    *,
    group: int,
    max_new_tokens: Sequence[int],
    pad_id: int,
    stop_ids: set[int],
    temperature: float,
    top_p: float = 1.0,
    generator: torch.Generator | None = None,
) -> Sampled:
    """`group` answers to each prompt (`max_new_tokens`: one limit per prompt), decoded together."""
    if not prompts:
        return Sampled([], [])
    if len(max_new_tokens) != len(prompts):
        raise ValueError(f"{len(max_new_tokens)} limits for {len(prompts)} prompts")
    if any(not p for p in prompts) or group < 1:
        raise ValueError("every prompt needs a token, and group must be at least 1")
    device = next(model.parameters()).device
    n = len(prompts) * group
    limits = [int(max_new_tokens[r // group]) for r in range(n)]
    tokens: list[list[int]] = [[] for _ in range(n)]
    stopped: list[int | None] = [None] * n
    done = [limit <= 0 for limit in limits]
    with inference_mode(model):
        ids, mask = left_pad(prompts, pad_id, device)
        past = roomy_cache(model, ids.shape[1] + max(limits) + 1)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        out = model(
            input_ids=ids,
            attention_mask=mask,
            position_ids=positions,
            past_key_values=past,
            use_cache=True,
            logits_to_keep=1,
        )
        past = out.past_key_values
        past.batch_repeat_interleave(group)
        mask = mask.repeat_interleave(group, dim=0)
        next_pos = positions[:, -1:].repeat_interleave(group, dim=0) + 1
        logits = out.logits[:, -1, :].repeat_interleave(group, dim=0)
        rows = list(range(n))
        while True:
            chosen = pick(logits, temperature, top_p, generator).tolist()
            for r, tok in zip(rows, chosen, strict=True):
                if done[r]:
                    continue
                if tok in stop_ids:
                    stopped[r], done[r] = tok, True
                    continue
                tokens[r].append(tok)
                done[r] = len(tokens[r]) >= limits[r]
            keep = [i for i, r in enumerate(rows) if not done[r]]
            if not keep:
                break
            if len(keep) < len(rows):
                index = torch.tensor(keep, dtype=torch.long, device=device)
                past.batch_select_indices(index)
                mask, next_pos = mask[index], next_pos[index]
                rows = [rows[i] for i in keep]
            last = torch.tensor([tokens[r][-1] for r in rows], dtype=torch.long, device=device)
            mask = torch.cat([mask, mask.new_ones((len(rows), 1))], dim=1)
            out = model(
                input_ids=last.unsqueeze(-1),
                attention_mask=mask,
                position_ids=next_pos,
                past_key_values=past,
                use_cache=True,
                logits_to_keep=1,
            )
            past, logits, next_pos = out.past_key_values, out.logits[:, -1, :], next_pos + 1
    return Sampled(tokens, stopped)


def answer_texts(
    model: Any,
    tokenizer: Any,
    conversations: Sequence[Sequence[dict[str, str]]],
    *,
    max_new_tokens: int,
    chat: Any = None,
    temperature: float = 0.0,
    top_p: float = 1.0,
    seed: int = 0,
) -> list[str]:
    """One reply per conversation: greedy through the evals' path (`evaluate.generate_texts`),
    sampled (temperature > 0) through `sample_ids`. The answering child (sparring) uses this."""
    from realm_tui.trainer.data import ChatFormat
    from realm_tui.trainer.evaluate import generate_texts, prompt_ids, stop_token_ids

    chat = chat or ChatFormat()
    if temperature <= 0:
        return generate_texts(model, tokenizer, conversations, max_new_tokens=max_new_tokens, chat=chat)
    stops = stop_token_ids(tokenizer, chat)
    pad_id = int(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else next(iter(stops), 0))
    generator = torch.Generator(device=next(model.parameters()).device).manual_seed(seed)
    prompts = [prompt_ids(c, tokenizer, chat) for c in conversations]
    sampled = sample_ids(
        model,
        prompts,
        group=1,
        max_new_tokens=[max_new_tokens] * len(prompts),
        pad_id=pad_id,
        stop_ids=stops,
        temperature=temperature,
        top_p=top_p,
        generator=generator,
    )
    return [tokenizer.decode(ids, skip_special_tokens=True) for ids in sampled.tokens]
