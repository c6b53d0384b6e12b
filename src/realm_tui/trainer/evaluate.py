"""Generation and skill evaluation: batched greedy decoding with a KV cache, scored by the skill.

Training keeps `use_cache=False` (packed rows need it); generation turns the cache on explicitly.
Prompts are left-padded so every row's last prompt token sits in the last column; position ids
restart at 0 after the padding, exactly as for the same prompt alone, so a batch gives the same
answers as one prompt at a time (fp32). The model is put in eval mode under `torch.no_grad()` and
returned to the mode it was in.

Used by the battle loop (evals between steps, `Generate`), `realm eval` and sparring (through
`realm_tui.trainer.answer`), and `bench/eval_throughput.py`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch

from realm_tui.battle.protocol import EvalResult
from realm_tui.skills.base import Problem, SkillBase
from realm_tui.trainer.data import ChatFormat, render_chat

EVAL_BATCH = 128
"""Problems per generation batch."""
ANSWER_MARGIN = 6
"""New tokens allowed beyond a problem's expected answer (plus its end token)."""
TEXT_LIMIT = 400
"""Characters kept of each prompt / expected / generated text in an EvalResult."""
DEFAULT_CHAT = ChatFormat()


@contextmanager
def inference_mode(model: Any) -> Iterator[None]:
    """`model.eval()` + `torch.no_grad()`, then the model's previous train/eval mode."""
    was_training = bool(model.training)
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        if was_training:
            model.train()


def stop_token_ids(tokenizer: Any, chat: ChatFormat) -> set[int]:
    """Token ids that end a reply: the chat end token and the tokenizer's eos."""
    out: set[int] = set()
    for token in (chat.im_end, tokenizer.eos_token):
        if not token:
            continue
        tid = tokenizer.convert_tokens_to_ids(token)
        if isinstance(tid, int) and tid != getattr(tokenizer, "unk_token_id", None):
            out.add(tid)
    return out


def prompt_ids(messages: Sequence[dict[str, str]], tokenizer: Any, chat: ChatFormat = DEFAULT_CHAT) -> list[int]:
    """Token ids of a conversation followed by the assistant header, as the hero saw it in training."""
    text, _ = render_chat(list(messages), chat)
    text += f"{chat.im_start}assistant\n"
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def _pick(logits: torch.Tensor, temperature: float, generator: torch.Generator | None) -> torch.Tensor:
    if temperature <= 0:
        return logits.argmax(dim=-1)
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


def _row_limits(max_new_tokens: int | Sequence[int], rows: int) -> list[int]:
    """One new-token limit per row, from one number or one per row."""
    if isinstance(max_new_tokens, int):
        return [max_new_tokens] * rows
    limits = [int(x) for x in max_new_tokens]
    if len(limits) != rows:
        raise ValueError(f"max_new_tokens has {len(limits)} limits for {rows} prompts")
    return limits


def generate_ids(
    model: Any,
    prompts: Sequence[Sequence[int]],
    *,
    max_new_tokens: int | Sequence[int],
    pad_id: int,
    stop_ids: set[int],
    temperature: float = 0.0,
    generator: torch.Generator | None = None,
    on_token: Callable[[list[list[int]]], None] | None = None,
) -> list[list[int]]:
    """New token ids per prompt (stop token excluded), decoding all prompts together.

    `max_new_tokens` is one limit for all or one per prompt: a row is done at its stop token or
    its own limit, so each row gets exactly the tokens it would get alone. Greedy when
    `temperature` is 0. `on_token(produced)` is called after every decoding step.
    """
    if not prompts:
        return []
    limits = _row_limits(max_new_tokens, len(prompts))
    device = next(model.parameters()).device
    rows, width = len(prompts), max(len(p) for p in prompts)
    ids = torch.full((rows, width), pad_id, dtype=torch.long)
    mask = torch.zeros((rows, width), dtype=torch.long)
    for r, p in enumerate(prompts):
        if p:
            ids[r, width - len(p) :] = torch.tensor(list(p), dtype=torch.long)
            mask[r, width - len(p) :] = 1
    ids, mask = ids.to(device), mask.to(device)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    produced: list[list[int]] = [[] for _ in range(rows)]
    done = [limit <= 0 for limit in limits]
    with inference_mode(model):
        # Only the last position's logits are needed: skipping the head over the prompt saves a lot.
        out = model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True, logits_to_keep=1)
        past = out.past_key_values
        next_pos = positions[:, -1:] + 1
        while not all(done):
            tokens = _pick(out.logits[:, -1, :], temperature, generator)
            for r, tok in enumerate(tokens.tolist()):
                if done[r]:
                    continue
                if tok in stop_ids:
                    done[r] = True
                else:
                    produced[r].append(tok)
                    done[r] = len(produced[r]) >= limits[r]
            if on_token is not None:
                on_token(produced)
            if all(done):
                break
            mask = torch.cat([mask, mask.new_ones((rows, 1))], dim=1)
            out = model(
                input_ids=tokens.unsqueeze(-1),
                attention_mask=mask,
                position_ids=next_pos,
                past_key_values=past,
                use_cache=True,
                logits_to_keep=1,
            )
            past = out.past_key_values
            next_pos = next_pos + 1
    return produced


def generate_texts(
    model: Any,
    tokenizer: Any,
    conversations: Sequence[Sequence[dict[str, str]]],
    *,
    max_new_tokens: int | Sequence[int],
    chat: ChatFormat = DEFAULT_CHAT,
    batch_size: int = EVAL_BATCH,
    temperature: float = 0.0,
    seed: int | None = None,
) -> list[str]:
    """Replies to each conversation, `batch_size` at a time (1: one at a time).

    `max_new_tokens` may be one number or one per conversation (each row keeps its own)."""
    limits = _row_limits(max_new_tokens, len(conversations))
    stops = stop_token_ids(tokenizer, chat)
    pad_id = int(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else next(iter(stops), 0))
    generator = None
    if temperature > 0 and seed is not None:
        generator = torch.Generator(device=next(model.parameters()).device).manual_seed(seed)
    prompts = [prompt_ids(c, tokenizer, chat) for c in conversations]
    texts: list[str] = []
    for i in range(0, len(prompts), max(1, batch_size)):
        chunk = prompts[i : i + max(1, batch_size)]
        new = generate_ids(
            model,
            chunk,
            max_new_tokens=limits[i : i + len(chunk)],
            pad_id=pad_id,
            stop_ids=stops,
            temperature=temperature,
            generator=generator,
        )
        texts += [tokenizer.decode(x, skip_special_tokens=True) for x in new]
    return texts


def answer_budget(problem: Problem, tokenizer: Any) -> int:
    """New tokens to allow for `problem`: its expected answer's length plus a margin."""
    return len(tokenizer(problem.expected, add_special_tokens=False)["input_ids"]) + ANSWER_MARGIN


def _clip(text: str) -> str:
    return text if len(text) <= TEXT_LIMIT else text[: TEXT_LIMIT - 1] + "…"


@dataclass(frozen=True)
class Scored:
    accuracy: float
    results: tuple[dict[str, Any], ...]
    seconds: float


def score_problems(
    model: Any,
    tokenizer: Any,
    skill: SkillBase,
    problems: Sequence[Problem],
    *,
    chat: ChatFormat = DEFAULT_CHAT,
    batch_size: int = EVAL_BATCH,
) -> Scored:
    """Greedy answers to `problems`, scored by the skill; per-problem results for the store."""
    started = time.perf_counter()
    # Similar answer lengths share a batch, so short answers do not wait for long ones.
    order = sorted(range(len(problems)), key=lambda i: answer_budget(problems[i], tokenizer))
    ordered = [problems[i] for i in order]
    answers_sorted = generate_texts(
        model,
        tokenizer,
        [p.messages()[:-1] for p in ordered],
        max_new_tokens=[answer_budget(p, tokenizer) for p in ordered],
        chat=chat,
        batch_size=batch_size,
    )
    answers = [""] * len(problems)
    for i, answer in zip(order, answers_sorted, strict=True):
        answers[i] = answer
    results = []
    for problem, answer in zip(problems, answers, strict=True):
        results.append(
            {
                "prompt": _clip(problem.prompt),
                "expected": _clip(problem.expected),
                "got": _clip(answer),
                "correct": bool(skill.score(problem, answer)),
                "primitives": list(problem.primitives),
                "tier": problem.tier,
                "held_out": skill.held_out(problem),
            }
        )
    correct = sum(1 for r in results if r["correct"])
    return Scored(correct / len(results) if results else 0.0, tuple(results), time.perf_counter() - started)


def evaluate_skill(
    model: Any,
    tokenizer: Any,
    skill: SkillBase,
    level: int,
    samples: int,
    *,
    step: int,
    chat: ChatFormat = DEFAULT_CHAT,
    request_id: str = "",
    batch_size: int = EVAL_BATCH,
) -> EvalResult:
    """Evaluate `skill` at `level` on its held-out set (`samples` problems, fewer when the level is tiny)."""
    problems = skill.heldout_eval_set(level, max(1, min(samples, 256)))
    scored = score_problems(model, tokenizer, skill, problems, chat=chat, batch_size=batch_size)
    return EvalResult(
        step=step,
        skill=skill.id,
        level=level,
        accuracy=scored.accuracy,
        total=len(problems),
        results=scored.results,
        request_id=request_id,
    )
