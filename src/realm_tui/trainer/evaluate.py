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

from realm_tui.contract.protocol import EvalResult
from realm_tui.skills.base import Problem, SkillBase
from realm_tui.trainer.data import ChatFormat, render_chat

EVAL_BATCH = 128
"""Problems per generation batch."""
ANSWER_MARGIN = 6
"""New tokens allowed beyond a problem's expected answer (plus its end token)."""
LOGITS_BUDGET = 1 << 26
"""Prefill logits (rows x positions x vocab floats) one batch may hold, 256 MiB in fp32: it
bounds how much of each guess the prefill checks (see `generate_ids`)."""
GAVE_UP = " … (stopped here: can no longer be right)"
"""Ends the "got" text of an answer whose decoding stopped once it could no longer score: the
text before it is the hero's greedy output up to that point."""
CHECK_EVERY_FROM = 24
CHECK_EVERY = 8
"""An answer is checked after each of its first CHECK_EVERY_FROM tokens, then every CHECK_EVERY."""
PROBE_TOKENS = 8
"""Tokens of each guess the first prefill checks (see `generate_ids`)."""
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


def _left_pad(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(ids, mask) with every row right-aligned, so each row's last token sits in the last column."""
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for r, row in enumerate(rows):
        if row:
            ids[r, width - len(row) :] = torch.tensor(list(row), dtype=torch.long)
            mask[r, width - len(row) :] = 1
    return ids, mask


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
    guesses: Sequence[Sequence[int]] | None = None,
    on_step: Callable[[int], None] | None = None,
    shrink: bool = True,
    hopeless: Callable[[int, list[int]], bool] | None = None,
    probe: bool = True,
) -> list[list[int]]:
    """New token ids per prompt (stop token excluded), decoding all prompts together.

    `max_new_tokens` is one limit for all or one per prompt: a row is done at its stop token or
    its own limit, so each row gets exactly the tokens it would get alone. Greedy when
    `temperature` is 0. `on_token(produced)` is called after every decoding step, and
    `on_step(rows done)` too (it may raise to abandon the batch).

    `guesses` (greedy only): one guessed reply per prompt, say the expected answer of an eval
    problem. They are checked in the prefill, one forward pass over prompt + guess: a row whose
    greedy choice equals the guess at every position and then picks a stop token is done
    without decoding (its reply *is* the guess); any other row keeps the guess up to its first
    differing token, takes the model's own token there and decodes on from the cache, with the
    guess's later cache columns masked out. The result is token for token what plain greedy
    decoding gives (the same argmax at the same positions; only the float summation order of a
    long prefill differs from a step-by-step one). Greedy rows leave the batch as they end, so
    the cache and each step shrink as the batch finishes (`shrink=False`: every row stays to the
    end, the plain reference decoding that `bench/eval_throughput.py` compares against).

    `hopeless(row, tokens so far)` (greedy only): True ends that row there, its reply cut short
    (the caller knows it can no longer be right).

    `probe`: the prefill checks only the first PROBE_TOKENS of each guess (a long guess costs a
    long prefill, wasted on a hero that goes wrong at once); the rows that agree with all of it
    are answered by a second call that checks their whole guesses.
    """
    if not prompts:
        return []
    limits = _row_limits(max_new_tokens, len(prompts))
    greedy = temperature <= 0
    if (guesses is not None or hopeless is not None) and not greedy:
        raise ValueError("guesses and hopeless rows are for greedy decoding only")
    if guesses is not None and len(guesses) != len(prompts):
        raise ValueError(f"{len(guesses)} guesses for {len(prompts)} prompts")
    device = next(model.parameters()).device
    rows = len(prompts)
    produced: list[list[int]] = [[] for _ in range(rows)]
    done = [limit <= 0 for limit in limits]
    # Each guess is checked up to the row's limit and as far as the prefill's logits may reach
    # (LOGITS_BUDGET); a row that agrees with all of a shortened guess simply decodes on.
    window = max(0, LOGITS_BUDGET // (rows * _vocab_size(model)) - 1)
    if probe:
        window = min(window, PROBE_TOKENS)
    guess = [list(guesses[r])[: max(0, min(limits[r], window))] if guesses is not None else [] for r in range(rows)]
    ids, mask = _left_pad([list(p) + g for p, g in zip(prompts, guess, strict=True)], pad_id)
    ids, mask = ids.to(device), mask.to(device)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    keep_logits = 1 + max(len(g) for g in guess)
    with inference_mode(model):
        # Only the last positions' logits are needed: skipping the head over the prompt saves a lot.
        out = model(
            input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True, logits_to_keep=keep_logits
        )
        past = out.past_key_values
        first: torch.Tensor | None = None
        dead = [0] * rows  # trailing cache columns a row hides (the rest of its guess)
        next_pos = positions[:, -1:] + 1
        logits = out.logits[:, -1, :]
        if guesses is not None:
            first, next_pos, dead = _check_guesses(out.logits, guess, mask, positions, produced, done, limits, stop_ids)
            if probe:
                _answer_promising(
                    model, prompts, guesses, guess, produced, done, limits, pad_id, stop_ids, hopeless, on_step
                )
        in_batch = list(range(rows))
        while True:
            tokens = first if first is not None else _pick(logits, temperature, generator)
            first = None
            for r, tok in zip(in_batch, tokens.tolist(), strict=True):
                if done[r]:
                    continue
                if tok in stop_ids:
                    done[r] = True
                else:
                    produced[r].append(tok)
                    done[r] = len(produced[r]) >= limits[r]
                    if not done[r] and hopeless is not None and greedy:
                        done[r] = hopeless(r, produced[r])
            if on_token is not None:
                on_token(produced)
            if on_step is not None:
                on_step(sum(done))
            if all(done):
                break
            if greedy and shrink:  # sampling keeps every row so the random stream does not depend on who ended
                keep = [i for i, r in enumerate(in_batch) if not done[r]]
                if len(keep) < len(in_batch):
                    index = torch.tensor(keep, dtype=torch.long, device=device)
                    past.batch_select_indices(index)
                    mask, next_pos, tokens = mask[index], next_pos[index], tokens[index]
                    in_batch = [in_batch[i] for i in keep]
            tail = min(dead[r] for r in in_batch)
            if tail > 0:  # columns every remaining row hides: drop them (an untrained hero hides all)
                past.crop(-tail)
                mask = mask[:, :-tail]
            dead = [0] * rows  # only before the first new column are the hidden ones the last ones
            mask = torch.cat([mask, mask.new_ones((len(in_batch), 1))], dim=1)
            out = model(
                input_ids=tokens.unsqueeze(-1),
                attention_mask=mask,
                position_ids=next_pos,
                past_key_values=past,
                use_cache=True,
                logits_to_keep=1,
            )
            past = out.past_key_values
            logits = out.logits[:, -1, :]
            next_pos = next_pos + 1
    return produced


def _answer_promising(
    model: Any,
    prompts: Sequence[Sequence[int]],
    guesses: Sequence[Sequence[int]],
    checked: list[list[int]],
    produced: list[list[int]],
    done: list[bool],
    limits: list[int],
    pad_id: int,
    stop_ids: set[int],
    hopeless: Callable[[int, list[int]], bool] | None,
    on_step: Callable[[int], None] | None,
) -> None:
    """Rows that agreed with all of a shortened guess: answered by a call that checks their whole
    guesses (so a right answer still costs no decoding step); they leave this batch as done."""
    rows = [
        r
        for r in range(len(prompts))
        if not done[r] and len(produced[r]) == len(checked[r]) and len(guesses[r]) > len(checked[r])
    ]
    if not rows:
        return
    before = sum(done)
    answers = generate_ids(
        model,
        [prompts[r] for r in rows],
        max_new_tokens=[limits[r] for r in rows],
        pad_id=pad_id,
        stop_ids=stop_ids,
        guesses=[guesses[r] for r in rows],
        hopeless=None if hopeless is None else (lambda i, ids: hopeless(rows[i], ids)),
        on_step=None if on_step is None else (lambda n: on_step(before + n)),
        probe=False,
    )
    for r, ids in zip(rows, answers, strict=True):
        produced[r], done[r] = ids, True


def _check_guesses(
    logits: torch.Tensor,
    guess: list[list[int]],
    mask: torch.Tensor,
    positions: torch.Tensor,
    produced: list[list[int]],
    done: list[bool],
    limits: list[int],
    stop_ids: set[int],
) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    """Compare each row's greedy choices in the prefill with its guess (see `generate_ids`).

    Fills `produced`/`done` for the agreed part; masks the cache columns of the guess after the
    first difference (in place). Returns the first token to process per row (the model's own at
    the difference), the position the next fed token takes, and the trailing columns each row hides."""
    rows, kept = logits.shape[0], logits.shape[1]
    choices = logits.argmax(dim=-1).tolist()  # rows x kept: the greedy pick after each column
    first = [0] * rows
    dead = [0] * rows
    next_pos = positions[:, -1:].clone()
    width = mask.shape[1]
    for r in range(rows):
        g = guess[r]
        # Column c (of the last `kept`) predicts guess[j] for j = c - (kept - 1 - len(g)).
        picks = choices[r][kept - 1 - len(g) :]
        k = next((j for j, tok in enumerate(g) if picks[j] != tok), len(g))
        produced[r] = g[:k]
        if done[r]:
            produced[r] = []
            continue
        if k == len(g) and len(g) >= limits[r]:
            done[r] = True  # the guess filled the whole budget, as greedy would have
            continue
        first[r] = picks[k]
        # The model's own token replaces guess[k]: it sits at that position, and the guess's
        # columns from k on are hidden from every later step.
        start = width - (len(g) - k)
        mask[r, start:] = 0
        next_pos[r, 0] = positions[r, -1] - (len(g) - k) + 1
        dead[r] = len(g) - k
    return torch.tensor(first, dtype=torch.long, device=logits.device), next_pos, dead


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
    complete: bool = True
    """False when `stop()` cut the eval short: `results` then holds the batches done so far."""
    answered: int = 0
    """Problems answered when it ended (with a cut, also those of the batch it abandoned)."""


class EvalInterrupted(Exception):
    """Raised inside decoding when the caller's `stop()` says so; `score_problems` catches it."""


def _vocab_size(model: Any) -> int:
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    if head is not None and getattr(head, "weight", None) is not None:
        return int(head.weight.shape[0])
    return int(getattr(model.config, "vocab_size", 1 << 17))


_CHARS_PER_TOKEN: dict[int, int] = {}


def max_chars_per_token(tokenizer: Any) -> int:
    """Most characters one token adds to a decoded reply: its longest token's text, plus one
    for a word-start space that a leading token drops (kept per tokenizer)."""
    key = id(tokenizer)
    if key not in _CHARS_PER_TOKEN:
        size = len(tokenizer)
        texts = tokenizer.batch_decode([[i] for i in range(size)], skip_special_tokens=True)
        _CHARS_PER_TOKEN[key] = max((len(t) for t in texts), default=1) + 1
    return _CHARS_PER_TOKEN[key]


def score_problems(
    model: Any,
    tokenizer: Any,
    skill: SkillBase,
    problems: Sequence[Problem],
    *,
    chat: ChatFormat = DEFAULT_CHAT,
    batch_size: int = EVAL_BATCH,
    guess: bool = True,
    progress: Callable[[int, int], None] | None = None,
    stop: Callable[[], bool] | None = None,
) -> Scored:
    """Greedy answers to `problems`, scored by the skill; per-problem results for the store.

    `guess` (default): each expected answer is checked as a guess in the prefill (see
    `generate_ids`): an answer the hero gets right costs no decoding step, a wrong one decodes
    on from its first wrong token, and stops as soon as the skill proves it can no longer be
    right (`SkillBase.can_still_score`; its "got" text then ends with GAVE_UP). The verdicts are
    those of the hero's full greedy output either way. `progress(done, total)` is called as problems finish;
    `stop()` is asked before every decoding step: True cuts the eval short (`complete=False`,
    results for the problems finished so far)."""
    started = time.perf_counter()
    stops = stop_token_ids(tokenizer, chat)
    pad_id = int(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else next(iter(stops), 0))
    budgets = [answer_budget(p, tokenizer) for p in problems]
    # Similar answer lengths share a batch, so short answers do not wait for long ones.
    order = sorted(range(len(problems)), key=lambda i: budgets[i])
    guesses = [list(tokenizer(problems[i].expected, add_special_tokens=False)["input_ids"]) for i in order]
    answers: dict[int, str] = {}
    total = len(problems)
    complete = True
    reached = [0]
    gave_up: set[int] = set()
    # Giving up on a row needs the decoded prefix to stay a prefix of the whole reply.
    early_stop = guess and not getattr(tokenizer, "clean_up_tokenization_spaces", False)
    chars_per_token = max_chars_per_token(tokenizer) if early_stop else 0
    try:
        for start in range(0, len(order), max(1, batch_size)):
            chunk = range(start, min(len(order), start + max(1, batch_size)))
            if stop is not None and stop():
                raise EvalInterrupted
            rows = [order[j] for j in chunk]
            base = len(answers)

            def on_step(finished: int, base: int = base) -> None:
                reached[0] = base + finished
                if progress is not None:
                    progress(base + finished, total)
                if stop is not None and stop():
                    raise EvalInterrupted

            def hopeless(row: int, ids: list[int], rows: list[int] = rows) -> bool:
                i = rows[row]
                left = budgets[i] - len(ids)
                if len(ids) > CHECK_EVERY_FROM and len(ids) % CHECK_EVERY and left > 2 * CHECK_EVERY:
                    return False  # a long answer is checked every few tokens (cheaper, stops a bit later)
                text = tokenizer.decode(ids, skip_special_tokens=True)
                stable = text.rstrip("\ufffd")  # an unfinished multi-byte character may still change
                more = left * chars_per_token + len(text) - len(stable)
                if skill.can_still_score(problems[i], stable, more):
                    return False
                gave_up.add(i)
                return True

            new = generate_ids(
                model,
                [prompt_ids(problems[i].messages()[:-1], tokenizer, chat) for i in rows],
                max_new_tokens=[budgets[i] for i in rows],
                pad_id=pad_id,
                stop_ids=stops,
                guesses=[guesses[j] for j in chunk] if guess else None,
                on_step=on_step,
                hopeless=hopeless if early_stop else None,
            )
            for i, ids in zip(rows, new, strict=True):
                answers[i] = tokenizer.decode(ids, skip_special_tokens=True)
    except EvalInterrupted:
        complete = False
    results = []
    for i, problem in enumerate(problems):
        if i not in answers:
            continue
        answer = answers[i]
        cut = i in gave_up
        results.append(
            {
                "prompt": _clip(problem.prompt),
                "expected": _clip(problem.expected),
                "got": _clip(answer)[: TEXT_LIMIT - len(GAVE_UP)] + GAVE_UP if cut else _clip(answer),
                "correct": False if cut else bool(skill.score(problem, answer)),
                "primitives": list(problem.primitives),
                "tier": problem.tier,
                "held_out": skill.held_out(problem),
            }
        )
    correct = sum(1 for r in results if r["correct"])
    seconds = time.perf_counter() - started
    accuracy = correct / len(results) if results else 0.0
    return Scored(accuracy, tuple(results), seconds, complete, max(reached[0], len(results)))


class EvalCutShort(Exception):
    """An eval stopped before all its problems were answered (a Stop arrived): never a result."""

    def __init__(self, done: int, total: int) -> None:
        super().__init__(f"cut short at {done}/{total} problems")
        self.done, self.total = done, total


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
    progress: Callable[[int, int], None] | None = None,
    stop: Callable[[], bool] | None = None,
) -> EvalResult:
    """Evaluate `skill` at `level` on its held-out set (`samples` problems, fewer when the level is tiny).

    Raises EvalCutShort when `stop()` ended it early (see `score_problems`)."""
    problems = skill.heldout_eval_set(level, max(1, min(samples, 256)))
    scored = score_problems(
        model, tokenizer, skill, problems, chat=chat, batch_size=batch_size, progress=progress, stop=stop
    )
    if not scored.complete:
        raise EvalCutShort(scored.answered, len(problems))
    return EvalResult(
        step=step,
        skill=skill.id,
        level=level,
        accuracy=scored.accuracy,
        total=len(problems),
        results=scored.results,
        request_id=request_id,
    )
