"""Small pure-ish helpers for the loop: precision, accelerator, seeds, schedule, loss (the optimizer
is built by `trainer.optimizers`, the one factory)."""

from __future__ import annotations

import inspect
import math
import os
import random
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from accelerate import Accelerator
from accelerate.state import AcceleratorState

from realm_tui.errors import InputError
from realm_tui.trainer.data import IGNORE, Example, batch_labels, make_batch

SCHEDULES = ("constant", "cosine")
COSINE_FLOOR = 0.1
"""Cosine decays to this share of the peak learning rate (nanoGPT's min_lr = lr / 10)."""


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device


def cpu_supports_bf16() -> bool:
    """bf16 autocast only pays on CPUs with native bf16 (AVX512-BF16 / AMX); elsewhere it is emulated."""
    if torch.backends.cpu.get_cpu_capability() not in ("AVX512", "AMX", "AVX512_BF16"):
        return False
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_precision(requested: str) -> str:
    """`bf16` or `fp32` for this machine."""
    if requested not in ("auto", "bf16", "fp32"):
        raise InputError(None, f"precision {requested!r} is not supported (auto, bf16 or fp32)")
    if requested != "auto":
        return requested
    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if cpu_supports_bf16() else "fp32"


def make_accelerator(precision: str) -> Accelerator:
    mixed = "bf16" if precision == "bf16" else "no"
    try:
        return Accelerator(mixed_precision=mixed, cpu=not torch.cuda.is_available())
    except ValueError as err:
        # Accelerate keeps one process-wide state; a library caller running a second battle with
        # another precision in the same process must start it afresh.
        if "already been initialized" not in str(err):
            raise
        AcceleratorState._reset_state(True)
        return Accelerator(mixed_precision=mixed, cpu=not torch.cuda.is_available())


def lr_factor(step: int, *, warmup_steps: int, max_steps: int, schedule: str) -> float:
    """Multiplier of the peak lr for optimizer step `step` (0-based): linear warmup, then flat or cosine."""
    if schedule not in SCHEDULES:
        raise InputError(None, f"lr_schedule {schedule!r} is not supported (constant or cosine)")
    if warmup_steps > 0 and step < warmup_steps:
        return (step + 1) / warmup_steps
    if schedule == "constant":
        return 1.0
    span = max(1, max_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / span)
    return COSINE_FLOOR + (1 - COSINE_FLOOR) * 0.5 * (1 + math.cos(math.pi * progress))


def lr_lambda(warmup_steps: int, max_steps: int, schedule: str) -> Callable[[int], float]:
    lr_factor(0, warmup_steps=warmup_steps, max_steps=max_steps, schedule=schedule)  # validate early

    def factor(step: int) -> float:
        return lr_factor(step, warmup_steps=warmup_steps, max_steps=max_steps, schedule=schedule)

    return factor


def loss_sum(model: Any, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Summed next-token cross-entropy over labelled positions (labels come pre-shifted).

    Summing, then dividing by the label count of the whole optimizer step, weights every token
    equally whatever the micro-batch split: packed, padded and OOM-halved steps agree.

    Where the model can (`logits_to_keep`), the head projects only the labelled positions: the
    loss needs no other logits, and on a real vocabulary the head and its fp32 log-softmax are a
    large part of a step (Qwen3-0.6B: 151,936 × 1,024 per token, ~20 % of a LoRA step's FLOPs,
    while a chat example trains ~15-25 % of its tokens)."""
    labels = batch["labels"]
    inputs = dict(
        input_ids=batch["input_ids"],
        attention_mask=batch.get("attention_mask"),
        position_ids=batch["position_ids"],
        use_cache=False,
    )
    if keeps_logits(model):
        keep = labels != IGNORE
        logits = model(**inputs, logits_to_keep=keep).logits.float()  # [labelled tokens, vocab]
        return F.cross_entropy(logits, labels[keep], reduction="sum")
    logits = model(**inputs).logits.float()
    return F.cross_entropy(logits.view(-1, logits.shape[-1]), labels.view(-1), ignore_index=IGNORE, reduction="sum")


def keeps_logits(model: Any) -> bool:
    """Whether the model's forward takes a boolean `logits_to_keep` mask: transformers' causal LMs
    whose forward slices with `slice_logits_to_keep` (an older forward indexes by an int only);
    wrappers (DDP, PEFT) pass the argument through."""
    inner = getattr(model, "module", model)  # DDP
    base = getattr(inner, "get_base_model", None)  # PEFT
    inner = base() if callable(base) else inner
    forward = type(inner).forward
    cached = _KEEPS_LOGITS.get(forward)
    if cached is None:
        try:
            takes = "logits_to_keep" in inspect.signature(forward).parameters
        except (TypeError, ValueError):
            takes = False
        slices = "slice_logits_to_keep" in getattr(inspect.unwrap(forward), "__globals__", {})
        cached = _KEEPS_LOGITS[forward] = takes and slices
    return cached


_KEEPS_LOGITS: dict[Any, bool] = {}


Progress = Callable[[int, int], None]
"""Called after each micro-batch of a step: (micro-batches done, micro-batches in the step)."""


def micro_batches(examples: Sequence[Example], micro_batch: int, token_budget: int = 0) -> list[list[Example]]:
    """`examples` in order, cut into micro-batches of at most `micro_batch` examples and, when
    `token_budget` > 0, at most that many tokens (an example longer than the budget goes alone).

    The budget bounds a micro-batch's activations (memory) and its time (a step of long examples
    becomes several short forward/backward passes, each followed by a progress event); the
    optimizer step is the same, since the loss is summed and divided by the whole step's labels."""
    chunks: list[list[Example]] = []
    current: list[Example] = []
    tokens = 0
    for example in examples:
        size = len(example)
        full = len(current) >= micro_batch or (token_budget > 0 and tokens + size > token_budget)
        if current and full:
            chunks.append(current)
            current, tokens = [], 0
        current.append(example)
        tokens += size
    if current:
        chunks.append(current)
    return chunks


def accumulate_gradients(
    accelerator: Accelerator,
    model: Any,
    examples: list[Example],
    *,
    micro_batch: int,
    batching: dict[str, Any],
    max_grad_norm: float,
    poison: bool = False,
    token_budget: int = 0,
    progress: Progress | None = None,
) -> tuple[float, float]:
    """Forward/backward `examples` in micro-batches (`micro_batches`); returns (mean token loss,
    grad norm after clipping). `poison` makes the loss NaN (fault injection); `progress` is called
    after each micro-batch."""
    n_labels = sum(e.n_labels for e in examples)
    chunks = micro_batches(examples, micro_batch, token_budget)
    total = 0.0
    for j, chunk in enumerate(chunks):
        batch = {k: v.to(accelerator.device) for k, v in make_batch(chunk, **batching).items()}
        # Gradients are synchronised across processes only on the last micro-batch.
        sync = nullcontext() if j == len(chunks) - 1 else accelerator.no_sync(model)
        with sync:
            summed = loss_sum(model, batch)
            if poison:
                summed = summed * float("nan")
            accelerator.backward(summed / n_labels)
        total += float(summed.detach())
        if progress is not None:
            progress(j + 1, len(chunks))
    max_norm = max_grad_norm if max_grad_norm > 0 else float("inf")
    grad_norm = accelerator.clip_grad_norm_(model.parameters(), max_norm)
    return total / n_labels, float(grad_norm)


def eval_loss(
    model: Any,
    examples: list[Example],
    micro_batch: int,
    packing: bool,
    max_length: int,
    pad_id: int,
    device: Any,
    token_budget: int = 0,
    progress: Progress | None = None,
) -> float | None:
    """Mean token loss over `examples` (the val split), without gradients; None when empty.
    Micro-batches as a training step's (`micro_batches`): the token budget bounds memory.
    `progress` is called after each micro-batch (a checkpoint's save reports its val pass)."""
    total, count = 0.0, 0
    chunks = micro_batches(examples, micro_batch, token_budget)
    model.eval()
    with torch.no_grad():
        for j, chunk in enumerate(chunks):
            batch = make_batch(chunk, packing=packing, max_length=max_length, pad_id=pad_id)
            batch = {k: v.to(device) for k, v in batch.items()}
            total += float(loss_sum(model, batch))
            count += batch_labels(batch)
            if progress is not None:
                progress(j + 1, len(chunks))
    model.train()
    return total / count if count else None


@dataclass
class FakeFaults:
    """Fault injection for machines without a GPU (tests, demos). Keys are the step being attempted
    (1-based); values how many attempts at that step fail. Also read from the environment:
    REALM_FAKE_OOM_AT_STEP="5" or "5:2,9", REALM_FAKE_NONFINITE_AT_STEP="4:3",
    REALM_FAKE_EVAL_ERROR_AT_STEP="2" (an eval run after that step raises)."""

    oom_at_step: dict[int, int] = field(default_factory=dict)
    nonfinite_at_step: dict[int, int] = field(default_factory=dict)
    eval_error_at_step: dict[int, int] = field(default_factory=dict)

    @staticmethod
    def _parse(text: str) -> dict[int, int]:
        out: dict[int, int] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            step, _, times = part.partition(":")
            out[int(step)] = int(times or 1)
        return out

    @classmethod
    def from_env(cls) -> FakeFaults:
        return cls(
            cls._parse(os.environ.get("REALM_FAKE_OOM_AT_STEP", "")),
            cls._parse(os.environ.get("REALM_FAKE_NONFINITE_AT_STEP", "")),
            cls._parse(os.environ.get("REALM_FAKE_EVAL_ERROR_AT_STEP", "")),
        )

    @staticmethod
    def _take(table: dict[int, int], step: int) -> bool:
        if table.get(step, 0) > 0:
            table[step] -= 1
            return True
        return False

    def oom(self, step: int) -> bool:
        return self._take(self.oom_at_step, step)

    def nonfinite(self, step: int) -> bool:
        return self._take(self.nonfinite_at_step, step)

    def eval_error(self, step: int) -> bool:
        return self._take(self.eval_error_at_step, step)
