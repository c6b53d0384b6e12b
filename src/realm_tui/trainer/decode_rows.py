"""The state of one batch of greedy/sampled decoding: what each row produced, and what the next
forward call feeds the model (shared by `trainer.evaluate` and `trainer.draft_verify`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch


class Rows:
    """What each row of a batch has produced so far, and whether it is done."""

    def __init__(self, limits: list[int], stop_ids: set[int], hopeless: Callable[[int, list[int]], bool] | None):
        self.limits, self.stop_ids, self.hopeless = limits, stop_ids, hopeless
        self.produced: list[list[int]] = [[] for _ in limits]
        self.done = [limit <= 0 for limit in limits]

    def take(self, in_batch: list[int], tokens: list[int]) -> None:
        """Each row in the batch takes its next token (a stop token, its limit or a hopeless
        verdict ends it)."""
        for r, tok in zip(in_batch, tokens, strict=True):
            if self.done[r]:
                continue
            if tok in self.stop_ids:
                self.done[r] = True
                continue
            self.produced[r].append(tok)
            self.done[r] = len(self.produced[r]) >= self.limits[r]
            if not self.done[r] and self.hopeless is not None:
                self.done[r] = self.hopeless(r, self.produced[r])


@dataclass
class Feed:
    """The prefill's outcome, then what each decoding step feeds the model."""

    past: Any
    mask: torch.Tensor
    """2-D attention mask over every cache column (shared prefix, padding, prompt, draft)."""
    positions: torch.Tensor
    """Position ids of the last forward call's columns."""
    logits_all: torch.Tensor
    """The last forward call's logits at its last kept positions."""
    next_pos: torch.Tensor
    first: torch.Tensor | None = None
    """The first token per row when the drafts chose it (else picked from the logits)."""
    dead: list[int] = field(default_factory=list)
    """Trailing cache columns each row hides (the rest of its draft)."""
    prefix: Any = None
    """The shared prefix's keys and values (`trainer.shared_prefix.SharedPrefix`) when the rows'
    caches and `mask` hold only their own columns; None when each row holds the prefix too."""
