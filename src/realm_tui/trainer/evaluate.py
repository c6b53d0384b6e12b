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

import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

import torch

from realm_tui.contract.protocol import EvalResult
from realm_tui.errors import RealmError
from realm_tui.skills.base import Problem, SkillBase
from realm_tui.trainer.attention_masks import additive_mask, additive_mask_dtype, causal_additive_mask
from realm_tui.trainer.data import ChatFormat, left_pad, render_chat
from realm_tui.trainer.decode_rows import Feed, Rows
from realm_tui.trainer.draft_verify import Part, check_drafts, split_promising, verify_pending
from realm_tui.trainer.kv_cache import (
    copy_rows,
    layer_keys_values,
    merge_rows,
    roomy_cache,
    stack_caches,
    stackable,
    without_first_columns,
)
from realm_tui.trainer.last_column import last_layer_on_last_column
from realm_tui.trainer.oom_retry import BatchHalving
from realm_tui.trainer.self_draft import WIDTHS, Call, Lookup, Shifted, decode_drafted

EVAL_BATCH = 128
"""Problems per generation batch."""
ANSWER_MARGIN = 6
"""New tokens allowed beyond a problem's expected answer (plus its end token)."""
LOGITS_BUDGET = 1 << 26
"""Logits (rows x positions x vocab floats) one draft-checking call may hold, 256 MiB in fp32: it
bounds how much of each draft one call checks (see `trainer.draft_verify`)."""
GAVE_UP = " … (stopped here: can no longer be right)"
"""Ends the "got" text of an answer whose decoding stopped once it could no longer score: the
text before it is the hero's greedy output up to that point."""
CHECK_EVERY_FROM = 24
CHECK_EVERY = 8
"""An answer is checked after each of its first CHECK_EVERY_FROM tokens, then every CHECK_EVERY."""
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
    return prompts_ids([messages], tokenizer, chat)[0]


def prompts_ids(
    conversations: Sequence[Sequence[dict[str, str]]], tokenizer: Any, chat: ChatFormat = DEFAULT_CHAT
) -> list[list[int]]:
    """`prompt_ids` of many conversations, tokenized in one call (a fast tokenizer's batch call
    costs a fraction of one call per text: 100 BIN prompts, 6 ms to 1)."""
    if not conversations:
        return []
    texts = [render_chat(list(messages), chat)[0] + f"{chat.im_start}assistant\n" for messages in conversations]
    return [list(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]


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
    guesses: Sequence[Sequence[int]] | None = None,
    on_step: Callable[[int], None] | None = None,
    shrink: bool = True,
    hopeless: Callable[[int, list[int]], bool] | None = None,
) -> list[list[int]]:
    """New token ids per prompt (stop token excluded), decoding all prompts together.

    `max_new_tokens` is one limit for all or one per prompt: a row is done at its stop token or
    its own limit, so each row gets exactly the tokens it would get alone. Greedy when
    `temperature` is 0. `on_token(produced)` is called after every decoding step, and
    `on_step(rows done)` too (it may raise to abandon the batch).

    The prompts' common first tokens (a skill's instructions, the chat header) go through the
    model once and their cache is shared by every row (see `_prefill`).

    `guesses` (greedy only): one guessed reply per prompt, say the expected answer of an eval
    problem, used as a draft (`trainer.draft_verify`): a row whose greedy first token is its
    guess's goes on in a batch of its own that feeds the guess in chunks over the prefill's
    cache; a row that agrees with all of it and then picks a stop token is done without any
    decoding step (its reply *is* the guess); any other row keeps the guess up to its first
    differing token, takes the model's own token there and decodes on from the cache, with the
    guess's later cache columns masked out. Rows decoding on check drafts of their own
    (`trainer.self_draft`: a repeat of their history, or the guess at the same place) several
    tokens a call. The result is token for token what plain greedy
    decoding gives (the same argmax at the same positions; only the float summation order of a
    multi-token call differs from a step-by-step one). Greedy rows leave the batch as they end, so
    the cache and each step shrink as the batch finishes (`shrink=False`: every row stays to the
    end, the plain reference decoding that `bench/eval_throughput.py` compares against).

    `hopeless(row, tokens so far)` (greedy only): True ends that row there, its reply cut short
    (the caller knows it can no longer be right).
    """
    if not prompts:
        return []
    limits = _row_limits(max_new_tokens, len(prompts))
    greedy = temperature <= 0
    if (guesses is not None or hopeless is not None) and not greedy:
        raise ValueError("guesses and hopeless rows are for greedy decoding only")
    if guesses is not None and len(guesses) != len(prompts):
        raise ValueError(f"{len(guesses)} guesses for {len(prompts)} prompts")
    rows = Rows(limits, stop_ids, hopeless if greedy else None)
    none: list[list[int]] = [[] for _ in prompts]
    with inference_mode(model):
        between = None if on_step is None else (lambda: on_step(sum(rows.done)))
        feed = _prefill(model, prompts, pad_id, max(limits), between)
        if guesses is not None:
            drafts = [list(g) for g in guesses]
            feed.first, feed.next_pos, feed.dead = check_drafts(
                feed.logits_all, none, feed.mask, feed.positions, rows.produced, rows.done, limits
            )
            pending = split_promising(model, rows, feed, drafts, none)

            parts = verify_pending(model, pending, rows, drafts, LOGITS_BUDGET, on_step)
            lookup = Lookup(drafts, len(prompts), min(stop_ids) if stop_ids else None)
            if parts:  # the rows that left their drafts decode on with those never on them
                going = [r for r in range(len(prompts)) if not rows.done[r]]
                main = Part(rows, feed, going, going, [list(rows.produced[r]) for r in going])
                _decode_parts(model, [main, *parts], rows, lookup, on_step)
            else:
                decode_drafted(rows, feed, lookup, _caller(model, feed), on_step)
        else:
            _decode(model, rows, feed, temperature, generator, on_token, on_step, shrink=greedy and shrink)
    return rows.produced


def _decode_parts(
    model: Any, parts: list[Part], rows: Rows, lookup: Lookup, on_step: Callable[[int], None] | None
) -> None:
    """Decode the rows of several batches (`trainer.draft_verify.Part`) on, as one batch: their caches
    merged (`kv_cache.merge_rows`; the shared prefix kept apart as in the prefill's), each row's
    limit, early stop and drafts those of its row in `rows`, whose output they fill in. A row whose
    next token is a stop token is done without a place in it (a right answer, after its draft)."""
    sources, befores, parents, masks, picked = [], [], [], [], []
    apart = parts[0].feed.prefix  # the prefill's: kept apart, the chunks' batches hold it in front
    for part in parts:
        assert part.feed.first is not None
        first = part.feed.first.tolist()
        index = []
        for i, parent, before in zip(part.index, part.parents, part.before, strict=True):
            if first[i] in rows.stop_ids:
                rows.produced[parent] = before
            else:
                index.append(i)
                parents.append(parent)
                befores.append(before)
        if not index:
            continue
        at = torch.tensor(index, dtype=torch.long, device=part.feed.mask.device)
        skip = apart.columns if apart is not None and part.feed.prefix is None else 0
        sources.append((part.feed.past, at, skip))
        masks.append(part.feed.mask[at, skip:])
        picked.append((part.feed, at))
    if not sources:
        return
    limits = [rows.limits[p] - len(b) for p, b in zip(parents, befores, strict=True)]
    width = max(m.shape[1] for m in masks)
    past, _ = merge_rows(model, sources, width + max(limits) + WIDTHS[-1])
    mask = torch.cat([torch.cat([m.new_zeros((m.shape[0], width - m.shape[1])), m], dim=1) for m in masks])
    next_pos = torch.cat([feed.next_pos[at] for feed, at in picked])
    first_tokens = torch.cat([feed.first[at] for feed, at in picked if feed.first is not None])
    dead = [feed.dead[i] for feed, at in picked for i in at.tolist()]
    feed = Feed(past, mask, next_pos, next_pos, next_pos, first=first_tokens, dead=dead, prefix=apart)
    outer = rows.hopeless
    hopeless = None if outer is None else (lambda j, ids: outer(parents[j], befores[j] + ids))
    merged = Rows(limits, rows.stop_ids, hopeless)
    base = len(rows.done) - len(parents)
    step = None if on_step is None else (lambda n: on_step(base + n))
    decode_drafted(merged, feed, Shifted(lookup, parents, befores), _caller(model, feed), step)
    for j, parent in enumerate(parents):
        rows.produced[parent] = befores[j] + merged.produced[j]


MIN_SHARED_PREFIX = 4
"""Fewest common first tokens worth a forward pass of their own (see `_prefill`)."""


def _shared_prefix(rows: Sequence[Sequence[int]]) -> int:
    """Tokens every row starts with, leaving each row at least one token of its own."""
    if len(rows) < 2:
        return 0
    shortest = min(len(r) for r in rows) - 1
    first = rows[0]
    n = 0
    while n < shortest and all(r[n] == first[n] for r in rows):
        n += 1
    return n if n >= MIN_SHARED_PREFIX else 0


LAST_COLUMN_ONLY = True
"""Whether a prefill runs its last layer on the last column only (`trainer.last_column`); off,
every column goes through every layer (the reference that tests compare against)."""


PREFILL_GROUP_TOKENS = 2048
"""Own tokens (rows x columns, padding included) one prefill forward takes when the whole prefill
has more than twice as many: it then runs a group of rows at a time, with `between()` after each
group, so an eval of long prompts reports progress (and can be stopped) during its prefill too.
SY, 100 rows of about 170 own columns, goes in nine groups (at load 18 on 2 cores the longest
gap between progress calls fell from 10.8 s to 4.7 s with groups of 4096); BIN, 100 rows of
about 30 columns, in one."""


def _prefill(
    model: Any,
    prompts: Sequence[Sequence[int]],
    pad_id: int,
    most_new: int,
    between: Callable[[], None] | None = None,
) -> Feed:
    """One forward pass over every prompt, left-padded so each row's last token sits
    in the last column. The prompts' common first tokens go through the model once, as one row,
    and every row shares their cache: a row is then [shared prefix][padding][own tokens], its
    position ids run on from the prefix, and the padding is masked, so each row sees exactly the
    columns and positions it would see alone. Only the last positions' logits are computed.
    Rows go through in groups of PREFILL_GROUP_TOKENS (each row's numbers do not depend on its
    group), shortest prompts first and each group as wide as its longest (its padding columns
    zeros in the stacked cache, masked as before), their caches stacked into one for decoding."""
    device = next(model.parameters()).device
    rows = len(prompts)
    shared = _shared_prefix(prompts)
    ids, mask = left_pad([list(p[shared:]) for p in prompts], pad_id)
    ids, mask = ids.to(device), mask.to(device)
    capacity = shared + ids.shape[1] + most_new + 1
    head = None
    if shared:
        head = roomy_cache(model, shared)
        head_ids = torch.tensor([list(prompts[0][:shared])], dtype=torch.long, device=device)
        at = torch.arange(shared, device=device)[None]
        model(input_ids=head_ids, position_ids=at, past_key_values=head, use_cache=True, logits_to_keep=1)
        mask = torch.cat([mask.new_ones((rows, shared)), mask], dim=1)
    positions = (mask[:, shared:].cumsum(-1) - 1).clamp(min=0) + shared
    width, per = ids.shape[1], rows
    if rows * width > 2 * PREFILL_GROUP_TOKENS and stackable(model):
        per = max(1, PREFILL_GROUP_TOKENS // width)
    apart = head is not None and _prefix_apart(model)  # decoding reads the prefix once, not once a row
    # Grouped rows go in order of length, each group only as wide as its longest row: little padding.
    trim = per < rows and (head is None or apart)
    lengths = [len(p) - shared for p in prompts]
    order = sorted(range(rows), key=lambda r: lengths[r]) if trim else list(range(rows))
    caches, logits, places = [], torch.empty(0), []
    additive = additive_mask_dtype(model)
    for start in range(0, rows, per):
        group = order[start : start + per]
        at = torch.tensor(group, dtype=torch.long, device=device)
        cut = width - max(lengths[r] for r in group) if trim else 0
        past = roomy_cache(model, capacity)
        if head is not None:
            copy_rows(head, past, len(group))
        seen = torch.cat([mask[at, :shared], mask[at, shared + cut :]], dim=1)
        out = _prefill_call(model, ids[at, cut:], seen, positions[at, cut:], past, additive)
        caches.append(out.past_key_values)
        places.append(at)
        if not len(logits):
            logits = out.logits.new_empty((rows, *out.logits.shape[1:]))
        logits[at] = out.logits
        if between is not None and start + per < rows:
            between()
    prefix = None
    if apart:
        from realm_tui.trainer.shared_prefix import SharedPrefix

        assert head is not None
        keys, values = layer_keys_values(head)
        prefix = SharedPrefix(keys, values, str(model.config._attn_implementation))
        if len(caches) == 1:  # one group in the rows' order: its own buffers, the prefix left behind
            past = without_first_columns(caches[0], shared)
        else:
            past = merge_rows(model, [(c, _all(c), shared) for c in caches], capacity - shared, places)[0]
        mask = mask[:, shared:]
    elif trim:
        past = merge_rows(model, [(c, _all(c), 0) for c in caches], capacity, places)[0]
    else:
        past = caches[0] if len(caches) == 1 else stack_caches(model, caches, capacity)
    return Feed(past, mask, positions, logits, positions[:, -1:] + 1, dead=[0] * rows, prefix=prefix)


def _prefill_call(
    model: Any, ids: torch.Tensor, seen: torch.Tensor, positions: torch.Tensor, past: Any, additive: torch.dtype | None
) -> Any:
    """One prefill forward call (the last column's logits) over the 2-D mask `seen` of the cache's
    and the new columns; rows with padding take a ready additive mask (SDPA takes it faster than
    the boolean one transformers builds: 116 vs 109 ms a BIN prefill of 100 rows, fp32)."""
    if additive is not None and not bool(seen.all()):
        seen = causal_additive_mask(seen, ids.shape[1], additive)
    with last_layer_on_last_column(model, LAST_COLUMN_ONLY):
        return model(
            input_ids=ids, attention_mask=seen, position_ids=positions, past_key_values=past, use_cache=True,
            logits_to_keep=1,
        )  # fmt: skip


def _all(cache: Any) -> torch.Tensor:
    """Every row of `cache`, as an index."""
    keys = layer_keys_values(cache)[0][0]
    return torch.arange(keys.shape[0], device=keys.device)


SHARED_PREFIX_APART = True
"""Whether decoding keeps a shared prefix's cache once (see `trainer.shared_prefix`); off, every
row holds its own copy (the reference that tests compare against)."""


def _prefix_apart(model: Any) -> bool:
    """Whether decoding can keep the shared prefix apart: where decoding steps take a ready
    additive mask (the same for every layer), the cache is made of RoomyLayers, and every
    attention module knows its layer."""
    if not SHARED_PREFIX_APART or additive_mask_dtype(model) is None or not stackable(model):
        return False
    layers = [m for m in model.modules() if hasattr(m, "num_key_value_groups")]
    return bool(layers) and all(isinstance(getattr(m, "layer_idx", None), int) for m in layers)


def _decode(
    model: Any,
    rows: Rows,
    feed: Feed,
    temperature: float,
    generator: torch.Generator | None,
    on_token: Callable[[list[list[int]]], None] | None,
    on_step: Callable[[int], None] | None,
    *,
    shrink: bool,
) -> None:
    """Decode from the prefill until every row is done, one token per row per step. With `shrink`
    (greedy only: sampling keeps every row so the random stream does not depend on who ended),
    finished rows leave the batch and its cache."""
    past, mask, next_pos, dead = feed.past, feed.mask, feed.next_pos, feed.dead
    additive = additive_mask_dtype(model)
    tokens = feed.first if feed.first is not None else _pick(feed.logits_all[:, -1, :], temperature, generator)
    in_batch = list(range(len(rows.done)))
    while True:
        rows.take(in_batch, tokens.tolist())
        if on_token is not None:
            on_token(rows.produced)
        if on_step is not None:
            on_step(sum(rows.done))
        if all(rows.done):
            return
        keep = [i for i, r in enumerate(in_batch) if not rows.done[r]]
        if shrink and len(keep) < len(in_batch):
            index = torch.tensor(keep, dtype=torch.long, device=mask.device)
            past.batch_select_indices(index)
            mask, next_pos, tokens = mask[index], next_pos[index], tokens[index]
            in_batch = [in_batch[i] for i in keep]
        tail = min(dead[r] for r in in_batch)
        if tail > 0:  # columns every remaining row hides: drop them (an untrained hero hides all)
            past.crop(-tail)
            mask = mask[:, :-tail]
        dead = [0] * len(dead)  # only before the first new column are the hidden ones the last ones
        mask = torch.cat([mask, mask.new_ones((len(in_batch), 1))], dim=1)
        out = _step(model, tokens, mask if additive is None else additive_mask(mask, additive), next_pos, past, feed)
        past = out.past_key_values
        tokens = _pick(out.logits[:, -1, :], temperature, generator)
        next_pos = next_pos + 1


def _step(model: Any, tokens: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor, past: Any, feed: Feed) -> Any:
    """One decoding step: each row's next token through the model, over the shared prefix's cache
    when it is kept apart (`feed.prefix`)."""
    return _forward(model, tokens.unsqueeze(-1), mask, positions, past, feed, 1)


def _forward(
    model: Any, ids: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor, past: Any, feed: Feed, keep: int
) -> Any:
    """A forward call over new columns `ids` (logits of the last `keep`), over the shared prefix's
    cache when it is kept apart (`feed.prefix`)."""
    context: Any = nullcontext()
    extra: dict[str, Any] = {}
    if feed.prefix is not None:
        from realm_tui.trainer.shared_prefix import attend

        context, extra = attend(model, feed.prefix), {"shared_prefix": feed.prefix}
    with context:
        return model(
            input_ids=ids,
            attention_mask=mask,
            position_ids=positions,
            past_key_values=past,
            use_cache=True,
            logits_to_keep=keep,
            **extra,
        )


def _caller(model: Any, feed: Feed) -> Call:
    """The forward call of `self_draft.decode_drafted` for a batch fed from `feed`: a single
    step as `_decode` takes it, or several new columns per row under a causal mask."""
    additive = additive_mask_dtype(model)

    def call(ids: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor, past: Any, width: int) -> Any:
        if width == 1:
            return _step(
                model, ids[:, -1], mask if additive is None else additive_mask(mask, additive), positions, past, feed
            )
        full = mask if additive is None else causal_additive_mask(mask, width, additive)
        return _forward(model, ids, full, positions, past, feed, width)

    return call


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
    halving: BatchHalving | None = None,
) -> list[str]:
    """Replies to each conversation, `batch_size` at a time (1: one at a time).

    `max_new_tokens` may be one number or one per conversation (each row keeps its own). Out of
    memory halves the batch (`halving`, default: one at `batch_size`); a conversation that runs
    out of memory alone raises `GenerationOutOfMemory` naming it."""
    limits = _row_limits(max_new_tokens, len(conversations))
    stops = stop_token_ids(tokenizer, chat)
    pad_id = int(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else next(iter(stops), 0))
    generator = None
    if temperature > 0 and seed is not None:
        generator = torch.Generator(device=next(model.parameters()).device).manual_seed(seed)
    prompts = [prompt_ids(c, tokenizer, chat) for c in conversations]
    texts: dict[int, str] = {}
    failed: list[str] = []

    def answer(rows: range) -> None:
        new = generate_ids(
            model,
            prompts[rows.start : rows.stop],
            max_new_tokens=limits[rows.start : rows.stop],
            pad_id=pad_id,
            stop_ids=stops,
            temperature=temperature,
            generator=generator,
        )
        texts.update((i, tokenizer.decode(x, skip_special_tokens=True)) for i, x in zip(rows, new, strict=True))

    batches = halving if halving is not None else BatchHalving(batch_size, what="answer")
    batches.run(len(prompts), answer, failed=lambda i, why: failed.append(f"conversation {i + 1}: {why}"))
    if failed:
        raise GenerationOutOfMemory(f"{len(failed)} of {len(prompts)} not answered ({'; '.join(failed[:3])})")
    return [texts[i] for i in range(len(prompts))]


class GenerationOutOfMemory(RealmError):
    """Some prompts could not be answered even one at a time: out of memory."""


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
    failed: int = 0
    """Problems not answered: out of memory even one at a time (each result says so)."""


class EvalInterrupted(Exception):
    """Raised inside decoding when the caller's `stop()` says so; `score_problems` catches it."""


def _vocab_size(model: Any) -> int:
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    if head is not None and getattr(head, "weight", None) is not None:
        return int(head.weight.shape[0])
    return int(getattr(model.config, "vocab_size", 1 << 17))


_CHARS_PER_TOKEN: dict[int, int] = {}
CONCATENATING_DECODERS = frozenset({"ByteFallback", "Fuse", "ByteLevel"})
"""tokenizers decoders under which a token adds exactly the text it decodes to alone (at most: a
lone byte of a multi-byte character decodes to one U+FFFD, the whole character is one too)."""


def _decoder_concatenates(tokenizer: Any) -> bool:
    """Whether `tokenizer.decode` is the tokens' own texts joined (no word-start space or "##"
    rule that makes a token's text depend on its place): its decoder is made of
    CONCATENATING_DECODERS only."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    decoder = getattr(backend, "decoder", None)
    if decoder is None:
        return False  # no decoder: tokenizers joins tokens with spaces
    kinds = re.findall(r"(\w+)\(", str(decoder))
    return bool(kinds) and set(kinds) <= CONCATENATING_DECODERS | {"Sequence"}


_BYTE_TOKENS: dict[int, frozenset[int]] = {}
BYTE_TOKEN = re.compile(r"<0x[0-9A-Fa-f]{2}>")


def byte_token_ids(tokenizer: Any) -> frozenset[int]:
    """Ids of byte-fallback tokens (`<0xE2>`): a run of them decodes as one group, and a group
    that is not valid UTF-8 becomes one U+FFFD per token, an ASCII byte included (kept per
    tokenizer)."""
    key = id(tokenizer)
    if key not in _BYTE_TOKENS:
        tokens = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
        _BYTE_TOKENS[key] = frozenset(i for i, t in enumerate(tokens) if isinstance(t, str) and BYTE_TOKEN.fullmatch(t))
    return _BYTE_TOKENS[key]


def settled_text(tokenizer: Any, ids: list[int], left: int, chars_per_token: int) -> tuple[str, int]:
    """(text, more): the start of the decoded reply `ids` that no later token can change, and the
    most characters the whole reply can have after it with `left` more tokens. A trailing run of
    byte-fallback tokens may still decode differently (so it counts as tokens to come, at most one
    character each), and so may a trailing unfinished character (U+FFFD)."""
    end = len(ids)
    byte_ids = byte_token_ids(tokenizer)
    while end > 0 and ids[end - 1] in byte_ids:
        end -= 1
    text = tokenizer.decode(ids[:end], skip_special_tokens=True)
    stable = text.rstrip("\ufffd")
    return stable, (left + len(ids) - end) * max(1, chars_per_token) + len(text) - len(stable)


def max_chars_per_token(tokenizer: Any) -> int:
    """Most characters one token adds to a decoded reply: its longest token's text, plus one
    for a word-start space that a leading token drops, unless the decoder just concatenates the
    tokens' texts (kept per tokenizer)."""
    key = id(tokenizer)
    if key not in _CHARS_PER_TOKEN:
        size = len(tokenizer)
        texts = tokenizer.batch_decode([[i] for i in range(size)], skip_special_tokens=True)
        longest = max((len(t) for t in texts), default=1)
        _CHARS_PER_TOKEN[key] = longest if _decoder_concatenates(tokenizer) else longest + 1
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
    halving: BatchHalving | None = None,
) -> Scored:
    """Greedy answers to `problems`, scored by the skill; per-problem results for the store.

    `guess` (default): each expected answer is checked as a draft (see `generate_ids` and
    `trainer.draft_verify`): an answer the hero gets right costs no decoding step, a wrong one decodes
    on from its first wrong token, and stops as soon as the skill proves it can no longer be
    right (`SkillBase.can_still_score`; its "got" text then ends with GAVE_UP). The verdicts are
    those of the hero's full greedy output either way. `progress(done, total)` is called as problems finish;
    `stop()` is asked before every decoding step: True cuts the eval short (`complete=False`,
    results for the problems finished so far). Out of memory halves the batch (`halving`, default:
    one at `batch_size`, see `trainer.oom_retry`); a problem that runs out of memory alone is
    counted as not answered (`failed`)."""
    started = time.perf_counter()
    run = _EvalRun(model, tokenizer, skill, problems, chat, guess=guess, progress=progress, stop=stop)

    def check_stop() -> None:
        if stop is not None and stop():
            raise EvalInterrupted

    complete = True
    try:
        batches = halving if halving is not None else BatchHalving(batch_size)
        batches.run(len(problems), run.answer, failed=run.fail, before=check_stop)
    except EvalInterrupted:
        complete = False
    results = run.results()
    correct = sum(1 for r in results if r["correct"])
    accuracy = correct / len(results) if results else 0.0
    seconds = time.perf_counter() - started
    return Scored(accuracy, tuple(results), seconds, complete, max(run.reached, len(results)), len(run.failed))


class _EvalRun:
    """One `score_problems` call: its problems in answer-length order, answered a batch at a time."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        skill: SkillBase,
        problems: Sequence[Problem],
        chat: ChatFormat,
        *,
        guess: bool,
        progress: Callable[[int, int], None] | None,
        stop: Callable[[], bool] | None,
    ) -> None:
        self.model, self.tokenizer, self.skill, self.problems, self.chat = model, tokenizer, skill, problems, chat
        self.guess, self.progress, self.stop = guess, progress, stop
        self.stops = stop_token_ids(tokenizer, chat)
        self.pad_id = int(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else next(iter(self.stops), 0))
        expected = [
            list(ids) for ids in tokenizer([p.expected for p in problems], add_special_tokens=False)["input_ids"]
        ]
        self.budgets = [len(ids) + ANSWER_MARGIN for ids in expected]  # as `answer_budget`
        # Similar answer lengths share a batch, so short answers do not wait for long ones.
        self.order = sorted(range(len(problems)), key=lambda i: self.budgets[i])
        self.guesses = [expected[i] for i in self.order]
        self.answers: dict[int, str] = {}
        self.gave_up: set[int] = set()
        self.failed: dict[int, str] = {}
        """Problems not answered (out of memory even alone), with why."""
        self.reached = 0
        # Giving up on a row needs the decoded prefix to stay a prefix of the whole reply.
        self.early_stop = guess and not getattr(tokenizer, "clean_up_tokenization_spaces", False)
        self.chars_per_token = max_chars_per_token(tokenizer) if self.early_stop else 0

    def answer(self, chunk: range) -> None:
        """Answer the problems at `chunk` of the answer-length order, as one batch."""
        rows = [self.order[j] for j in chunk]
        self.gave_up.difference_update(rows)  # a batch retried after out of memory starts afresh
        base = len(self.answers)

        def on_step(finished: int) -> None:
            self.reached = base + finished
            if self.progress is not None:
                self.progress(base + finished, len(self.problems))
            if self.stop is not None and self.stop():
                raise EvalInterrupted

        new = generate_ids(
            self.model,
            prompts_ids([self.problems[i].messages()[:-1] for i in rows], self.tokenizer, self.chat),
            max_new_tokens=[self.budgets[i] for i in rows],
            pad_id=self.pad_id,
            stop_ids=self.stops,
            guesses=[self.guesses[j] for j in chunk] if self.guess else None,
            on_step=on_step,
            hopeless=(lambda row, ids: self._hopeless(rows[row], ids)) if self.early_stop else None,
        )
        for i, ids in zip(rows, new, strict=True):
            self.answers[i] = self.tokenizer.decode(ids, skip_special_tokens=True)

    def fail(self, j: int, why: str) -> None:
        """The problem at `j` of the answer-length order could not be answered (`BatchHalving`)."""
        i = self.order[j]
        self.answers[i], self.failed[i] = "", why

    def _hopeless(self, i: int, ids: list[int]) -> bool:
        """Whether problem `i`'s reply so far (`ids`) can no longer score (its skill's proof)."""
        left = self.budgets[i] - len(ids)
        if len(ids) > CHECK_EVERY_FROM and len(ids) % CHECK_EVERY and left > 2 * CHECK_EVERY:
            return False  # a long answer is checked every few tokens (cheaper, stops a bit later)
        stable, more = settled_text(self.tokenizer, ids, left, self.chars_per_token)
        if self.skill.can_still_score(self.problems[i], stable, more):
            return False
        self.gave_up.add(i)
        return True

    def results(self) -> list[dict[str, Any]]:
        """Per-problem results of the problems answered, in the problems' order."""
        out = []
        for i, problem in enumerate(self.problems):
            if i not in self.answers:
                continue
            answer = self.answers[i]
            cut = i in self.gave_up
            if i in self.failed:
                answer = f"(not answered: {self.failed[i]})"
            out.append(
                {
                    "prompt": _clip(problem.prompt),
                    "expected": _clip(problem.expected),
                    "got": _clip(answer)[: TEXT_LIMIT - len(GAVE_UP)] + GAVE_UP if cut else _clip(answer),
                    "correct": False if cut or i in self.failed else bool(self.skill.score(problem, answer)),
                    "primitives": list(problem.primitives),
                    "tier": problem.tier,
                    "held_out": self.skill.held_out(problem),
                }
            )
        return out


class EvalOutOfMemory(RealmError):
    """An eval some of whose problems ran out of memory even alone: never a result."""


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
    halving: BatchHalving | None = None,
) -> EvalResult:
    """Evaluate `skill` at `level` on its held-out set (`samples` problems, fewer when the level is tiny).

    Raises EvalCutShort when `stop()` ended it early (see `score_problems`), EvalOutOfMemory when
    some problems could not be answered even one at a time (such an eval never counts)."""
    problems = skill.heldout_eval_set(level, max(1, min(samples, 256)))
    scored = score_problems(
        model, tokenizer, skill, problems, chat=chat, batch_size=batch_size, progress=progress, stop=stop,
        halving=halving,
    )  # fmt: skip
    if not scored.complete:
        raise EvalCutShort(scored.answered, len(problems))
    if scored.failed:
        raise EvalOutOfMemory(
            f"{scored.failed} of {len(problems)} problems not answered: out of memory even one at a time "
            "(a lighter memory profile or a smaller max_length frees some)"
        )
    return EvalResult(
        step=step,
        skill=skill.id,
        level=level,
        accuracy=scored.accuracy,
        total=len(problems),
        results=scored.results,
        request_id=request_id,
    )
