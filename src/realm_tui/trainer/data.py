"""Chat JSONL → token ids with assistant-only labels, deterministic order, packing and collation.

Labels are kept unshifted on each `Example` (token id where trained, -100 elsewhere); the collate
functions shift them *within each example*, so a packed row never asks one example to predict the
first token of the next.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from realm_tui.errors import InputError

IGNORE = -100
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
PACK_MIN_SAVING = 0.05
"""Pack a micro-batch only when it saves at least this share of padded tokens (equal-length data
then keeps the plain causal path, which needs no per-example mask)."""
PACK_ROW_TOKENS = 256
"""A packed row holds at most this many tokens, or the micro-batch's longest example when that is
longer (never more than max_length). Attention over a packed row costs its width squared, so rows
as wide as a long max_length make short examples slower: BIN L10 on dio-nano trained ~30% (768)
to ~38% (1024) fewer steps per CPU-second than with 256-token rows, the width it uses now."""


@dataclass(frozen=True)
class Example:
    input_ids: tuple[int, ...]
    labels: tuple[int, ...]
    """Same length as input_ids; the token id where the model is trained on it, else -100."""

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def n_labels(self) -> int:
        return sum(1 for x in self.labels[1:] if x != IGNORE)


@dataclass(frozen=True)
class ChatFormat:
    """The hero's chat tokens (`hero["chat"]`); Qwen style by default."""

    im_start: str = IM_START
    im_end: str = IM_END
    default_system: str | None = None
    """Prepended as a system turn to conversations that have none."""

    @classmethod
    def from_hero(cls, hero: dict[str, Any]) -> ChatFormat:
        chat = hero.get("chat") or {}
        return cls(chat.get("im_start") or IM_START, chat.get("im_end") or IM_END, chat.get("default_system"))


@dataclass(frozen=True)
class DataPosition:
    """Where the stream stands: the epoch and the index of the next example in its order."""

    epoch: int = 0
    index: int = 0


# ---------------------------------------------------------------- reading


def read_chat_jsonl(path: Path) -> list[tuple[str, list[dict[str, str]]]]:
    """(raw line, messages) per non-blank line; a bad line raises InputError naming file and line."""
    out: list[tuple[str, list[dict[str, str]]]] = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(path, f"cannot read quest file: {err}") from err
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            messages = obj["messages"]
            if not isinstance(messages, list) or not messages:
                raise ValueError("'messages' must be a non-empty list")
            clean = [{"role": str(m["role"]), "content": str(m["content"])} for m in messages]
        except (ValueError, KeyError, TypeError) as err:
            raise InputError(path, f"line {n}: not a chat example ({err})") from err
        out.append((line, clean))
    return out


def render_chat(
    messages: Sequence[dict[str, str]], fmt: ChatFormat = ChatFormat()
) -> tuple[str, list[tuple[int, int]]]:
    """Qwen-style text and the character spans that carry loss (assistant content + its end token)."""
    if fmt.default_system and (not messages or messages[0]["role"] != "system"):
        messages = [{"role": "system", "content": fmt.default_system}, *messages]
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    pos = 0
    for m in messages:
        head = f"{fmt.im_start}{m['role']}\n"
        body = f"{m['content']}{fmt.im_end}"
        if m["role"] == "assistant":
            spans.append((pos + len(head), pos + len(head) + len(body)))
        chunk = head + body + "\n"
        parts.append(chunk)
        pos += len(chunk)
    return "".join(parts), spans


def tokenize_chat(
    messages: Sequence[dict[str, str]], tokenizer: Any, max_length: int, fmt: ChatFormat = ChatFormat()
) -> Example:
    """Tokenize the whole conversation at once and label tokens by their character offsets, so the
    ids are exactly those of the full text (no per-segment boundary effects)."""
    text, spans = render_chat(messages, fmt)
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids: list[int] = list(enc["input_ids"])[:max_length]
    labels: list[int] = []
    for tok, (start, end) in zip(ids, enc["offset_mapping"], strict=False):
        inside = any(a <= start < b and end <= b for a, b in spans)
        labels.append(tok if inside else IGNORE)
    return Example(tuple(ids), tuple(labels))


@dataclass
class QuestData:
    train: list[Example]
    val: list[Example]
    dropped: int
    """Examples with no trained token left after truncation."""
    val_note: str | None = None
    """How the validation split was made when the hash split alone gave none (for the log)."""

    @property
    def tokens(self) -> int:
        return sum(len(e) for e in self.train)


def _val_score(raw_line: str, seed: int) -> float:
    digest = hashlib.sha256(f"{seed}\x00{raw_line}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def in_val(raw_line: str, seed: int, val_fraction: float) -> bool:
    """Hash-based split: stable across runs and unaffected by adding other examples."""
    return _val_score(raw_line, seed) < val_fraction


def split_val(
    rows: Sequence[tuple[str, Any]], seed: int, val_fraction: float
) -> tuple[list[Any], list[Any], str | None]:
    """(train, val, note) by the hash split; a quest the hash split gives no validation example
    (a small one) still gets one, so the battle's DEF (100 / val loss) is measured, never 0 for
    want of data: the `max(1, round(val_fraction * n))` lines with the lowest hash are held out
    (deterministic, like the split itself). A one-line quest is validated on its only line (said
    in the note). `val_fraction` 0 (modules, or a hero that wants none) holds nothing out."""
    train = [item for raw, item in rows if not in_val(raw, seed, val_fraction)]
    val = [item for raw, item in rows if in_val(raw, seed, val_fraction)]
    if val or val_fraction <= 0 or not rows:
        return train, val, None
    if len(rows) == 1:
        return train, list(train), "validation on the quest's only example (too small to hold one out)"
    k = min(len(rows) - 1, max(1, round(val_fraction * len(rows))))
    held = set(sorted(range(len(rows)), key=lambda i: (_val_score(rows[i][0], seed), i))[:k])
    train = [item for i, (_raw, item) in enumerate(rows) if i not in held]
    val = [item for i, (_raw, item) in enumerate(rows) if i in held]
    return train, val, f"held out {k} of {len(rows)} example(s) for validation (the quest is small)"


def load_quest(
    paths: Sequence[str | Path],
    tokenizer: Any,
    max_length: int,
    *,
    seed: int,
    val_fraction: float,
    chat: ChatFormat = ChatFormat(),
) -> QuestData:
    if not paths:
        raise InputError(None, "the battle has no quest file to train on (quest_paths is empty)")
    rows: list[tuple[str, Example]] = []
    dropped = 0
    for path in paths:
        for raw, messages in read_chat_jsonl(Path(path)):
            ex = tokenize_chat(messages, tokenizer, max_length, chat)
            if ex.n_labels == 0:
                dropped += 1
                continue
            rows.append((raw, ex))
    train, val, note = split_val(rows, seed, val_fraction)
    if not train:
        where = ", ".join(str(p) for p in paths)
        raise InputError(None, f"no trainable examples in {where} (need assistant turns within max_length)")
    return QuestData(train, val, dropped, note)


# ---------------------------------------------------------------- order


def epoch_order(n: int, seed: int, epoch: int) -> list[int]:
    order = list(range(n))
    random.Random(f"realm-data:{seed}:{epoch}").shuffle(order)
    return order


class DataStream:
    """Endless, deterministic example order: a fresh shuffle of (seed, epoch) per epoch."""

    def __init__(self, n: int, seed: int, position: DataPosition | None = None) -> None:
        self.n = n
        self.seed = seed
        self.position = position or DataPosition()
        self._order_epoch = -1
        self._order: list[int] = []

    def _order_for(self, epoch: int) -> list[int]:
        if epoch != self._order_epoch:
            self._order, self._order_epoch = epoch_order(self.n, self.seed, epoch), epoch
        return self._order

    def take(self, k: int) -> list[int]:
        out: list[int] = []
        epoch, index = self.position.epoch, self.position.index
        while len(out) < k:
            order = self._order_for(epoch)
            grab = order[index : index + k - len(out)]
            out += grab
            index += len(grab)
            if index >= self.n:
                epoch, index = epoch + 1, 0
        self.position = DataPosition(epoch, index)
        return out

    @property
    def epoch_float(self) -> float:
        return self.position.epoch + self.position.index / self.n if self.n else 0.0


# ---------------------------------------------------------------- packing and collation


def pack(examples: Sequence[Example], max_length: int) -> list[list[Example]]:
    """First-fit decreasing into rows of at most max_length tokens (deterministic: stable sort)."""
    rows: list[list[Example]] = []
    room: list[int] = []
    for ex in sorted(examples, key=len, reverse=True):
        for r, free in enumerate(room):
            if len(ex) <= free:
                rows[r].append(ex)
                room[r] -= len(ex)
                break
        else:
            rows.append([ex])
            room.append(max_length - len(ex))
    return rows


def _shifted(ex: Example) -> list[int]:
    return list(ex.labels[1:]) + [IGNORE]


def collate_packed(rows: Sequence[Sequence[Example]], pad_id: int) -> dict[str, torch.Tensor]:
    """Rows of examples; position ids restart at 0 for each example. No attention mask is returned on
    purpose: transformers then derives per-example (block-diagonal causal) attention from the
    restarts in position_ids. The pad tail continues the last positions, so a row holding a single
    example stays a plain causal row."""
    width = max(sum(len(e) for e in row) for row in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    pos = torch.zeros((len(rows), width), dtype=torch.long)
    labels = torch.full((len(rows), width), IGNORE, dtype=torch.long)
    for r, row in enumerate(rows):
        at = 0
        for ex in row:
            n = len(ex)
            ids[r, at : at + n] = torch.tensor(ex.input_ids)
            pos[r, at : at + n] = torch.arange(n)
            labels[r, at : at + n] = torch.tensor(_shifted(ex))
            at += n
        if at < width:
            start = len(row[-1])
            pos[r, at:] = torch.arange(start, start + width - at)
    if all(len(row) == 1 for row in rows):
        pos = pos[:1]  # every row is 0..width-1: one shared row spares per-row rotary tables
    return {"input_ids": ids, "position_ids": pos, "labels": labels}


def collate_padded(examples: Sequence[Example], pad_id: int) -> dict[str, torch.Tensor]:
    """One example per row, right-padded, with a 2-D attention mask (the classic path)."""
    width = max(len(e) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE, dtype=torch.long)
    for r, ex in enumerate(examples):
        n = len(ex)
        ids[r, :n] = torch.tensor(ex.input_ids)
        mask[r, :n] = 1
        labels[r, :n] = torch.tensor(_shifted(ex))
    pos = torch.arange(width).unsqueeze(0).expand(len(examples), -1).contiguous()
    return {"input_ids": ids, "attention_mask": mask, "position_ids": pos, "labels": labels}


def left_pad(
    rows: Sequence[Sequence[int]], pad_id: int, device: Any = None, width: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """(ids, mask) with every row right-aligned, so each row's last token sits in the last column
    (prompts for decoding: the eval's, the sampler's, the Arena's log-probabilities; a decoding
    call's fed tokens), `width` columns (default: the longest row's); on `device` when given.
    Built as two tensors from padded lists (one per row was a tenth of a drafted decoding call)."""
    width = max(len(r) for r in rows) if width is None else width
    ids = torch.tensor([[pad_id] * (width - len(r)) + list(r) for r in rows], dtype=torch.long, device=device)
    mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows], dtype=torch.long, device=device)
    return ids, mask


def make_batch(
    examples: Sequence[Example], *, packing: bool, max_length: int, pad_id: int, row_tokens: int | None = None
) -> dict[str, torch.Tensor]:
    """Packed rows (or padded rows without packing). `row_tokens`: the row width the model's shape
    affords (`trainer.pack_width`); None: PACK_ROW_TOKENS, capped at max_length."""
    if not packing:
        return collate_padded(examples, pad_id)
    longest = max(len(e) for e in examples)
    width = max(row_tokens, longest) if row_tokens else min(max_length, max(PACK_ROW_TOKENS, longest))
    rows = pack(examples, width)
    packed_cost = len(rows) * max(sum(len(e) for e in row) for row in rows)
    padded_cost = len(examples) * max(len(e) for e in examples)
    if packed_cost > (1.0 - PACK_MIN_SAVING) * padded_cost:
        rows = [[e] for e in examples]
    return collate_packed(rows, pad_id)


def batch_labels(batch: dict[str, torch.Tensor]) -> int:
    return int((batch["labels"] != IGNORE).sum())
