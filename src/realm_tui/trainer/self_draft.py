"""Greedy decoding that checks a guessed continuation of every row in the same forward call.

An eval's wrong answers are decoded on token by token until they end or can no longer score:
an untrained hero's SY answer is about 170 steps of one emoji repeated, a briefly trained one
writes JSON-like text whose pieces repeat ("syllables", `"],"`). Each step reads every row's whole
KV cache and runs the model over one token per row. Here each call feeds a row's next token
(its greedy choice, already known) followed by a draft of what may come after it, and the logits
at those columns are the greedy choices after each draft token: the row keeps the draft up to the
first choice that differs, then takes that choice, exactly as speculative decoding verifies a
draft (`trainer.draft_verify` does the same with the expected answer). The output is token for
token plain greedy decoding (the same argmax at the same positions; only the float summation
order of a multi-token call differs from single steps, which `tests/trainer/test_eval_verdicts.py`
checks on 1,000+ problems). A call over W tokens a row costs about W single steps of matrix work
but reads the cache once, and takes many tokens a row where the drafts hold.

Drafts (`Lookup`): where the row's last tokens appeared before, in its expected answer or its
own output, what followed them there (a repeat runs on); or, while the row's output has the
expected answer's shape, the expected answer at the same place (one wrong digit in a BIN answer,
then the rest as expected). Each row switches between the two when one fails. `call_width` picks
how many tokens a call takes, from how often each row's drafts held so far: a batch whose drafts
fail decodes one token a row per call, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import torch

from realm_tui.trainer.data import left_pad
from realm_tui.trainer.decode_rows import Feed, Rows

NGRAM = 3
"""Longest run of a row's last tokens matched in its history."""
LOOK_BACK = 16
"""Latest earlier places of a row's last token tried for the longest run."""
WIDTHS = (1, 2, 3, 5, 9, 17)
"""Tokens a row a call may take (its next token and up to WIDTHS - 1 drafted ones)."""
CALL_COST = 120.0
ROW_COLUMN_COST = 0.003
"""What a call costs, in tokens of one row's matrix work (measured on dio-nano, CPU, 2 threads: a
call's fixed cost about 7 ms and a row-token about 0.06 ms, for 1 row as for 48, so about 120
row-tokens; reading a row's cache column about 0.003 of one). At the 30 it once was, one problem
at a time took narrow calls: the base hero's BIN L3 eval of 100 problems one at a time took 3.45 s
instead of 2.70 s."""


class Drafter(Protocol):
    """Drafts for the rows of a batch (by their index in it)."""

    def draft(self, r: int, produced: Sequence[int], most: int) -> list[int]: ...
    def observe(self, r: int, offered: int, kept: int) -> None: ...
    def rate(self, r: int) -> float: ...


class Lookup:
    """Drafts for a batch's rows, from their histories (expected answer, then own output)."""

    def __init__(self, guesses: Sequence[Sequence[int]] | None, rows: int, end: int | None):
        self.guesses = [list(g) for g in guesses] if guesses is not None else None
        self.end = end
        self.history: dict[int, list[int]] = {}
        """Each row's expected answer and output so far (built when first drafted)."""
        self.seen: dict[int, int] = {}
        self.places: dict[int, dict[int, list[int]]] = {}
        """Per row, where each token stands in its history."""
        self.positional = [guesses is not None] * rows
        self.held = [1.0] * rows
        self.tried = [2.0] * rows

    def _append(self, r: int, tok: int) -> None:
        history = self.history[r]
        self.places[r].setdefault(tok, []).append(len(history))
        history.append(tok)

    def draft(self, r: int, produced: Sequence[int], most: int) -> list[int]:
        """Up to `most` tokens that may follow row `r`'s output `produced` (its last token is
        the one the next call feeds)."""
        if r not in self.history:
            self.history[r], self.seen[r], self.places[r] = [], 0, {}
            for tok in self.guesses[r] if self.guesses is not None else []:
                self._append(r, tok)
        for tok in produced[self.seen[r] :]:
            self._append(r, tok)
        self.seen[r] = len(produced)
        if most <= 0:
            return []
        if self.positional[r] and self.guesses is not None:
            rest = self.guesses[r][len(produced) :] + ([self.end] if self.end is not None else [])
            return rest[:most]
        follower = self._follower(r)
        if follower is None:
            return []
        history = self.history[r]
        period = len(history) - follower
        return [history[follower + i % period] for i in range(most)]

    def _follower(self, r: int) -> int | None:
        """Where the history went on after the latest earlier place its last tokens stood (the
        longest run of them, up to NGRAM, among the LOOK_BACK latest places of the last one)."""
        history = self.history[r]
        last = len(history) - 1
        best, best_run = None, 0
        for at in reversed(self.places[r][history[last]][-LOOK_BACK - 1 : -1]):
            run = 1
            while run < NGRAM and at - run >= 0 and history[at - run] == history[last - run]:
                run += 1
            if run > best_run:
                best, best_run = at + 1, run
                if run == NGRAM:
                    break
        return best

    def observe(self, r: int, offered: int, kept: int) -> None:
        """Row `r`'s draft of `offered` tokens held for `kept`: none held switches its source."""
        if offered <= 0:
            return
        self.held[r] = 0.8 * self.held[r] + kept
        self.tried[r] = 0.8 * self.tried[r] + kept + (1 if kept < offered else 0)
        if kept == 0:
            self.positional[r] = not self.positional[r] and self.guesses is not None

    def rate(self, r: int) -> float:
        """How often row `r`'s drafted tokens held (a token-by-token chance)."""
        return self.held[r] / self.tried[r]


class Shifted:
    """A `Drafter` for rows that left their batch (`parents`: their rows there) after `agreed`
    tokens: the batch's drafter, told each row's whole output."""

    def __init__(self, outer: Drafter, parents: Sequence[int], agreed: Sequence[Sequence[int]]):
        self.outer, self.parents, self.agreed = outer, parents, agreed

    def draft(self, r: int, produced: Sequence[int], most: int) -> list[int]:
        return self.outer.draft(self.parents[r], [*self.agreed[r], *produced], most)

    def observe(self, r: int, offered: int, kept: int) -> None:
        self.outer.observe(self.parents[r], offered, kept)

    def rate(self, r: int) -> float:
        return self.outer.rate(self.parents[r])


def call_width(lengths: Sequence[int], rates: Sequence[float], columns: int) -> int:
    """Tokens a row the next call takes: the width that gives the most expected tokens per unit
    of work (a row's draft token i holds with chance rate**i, the work is the rows x width matrix
    products plus the call's fixed cost and the cache it reads)."""
    rows = len(lengths)
    longest = max(lengths, default=0)
    best, best_gain = 1, 0.0
    for width in WIDTHS:
        if width - 1 > longest:
            break
        tokens = rows + sum(
            sum(p**i for i in range(1, min(n, width - 1) + 1)) for n, p in zip(lengths, rates, strict=True)
        )
        gain = tokens / (CALL_COST + rows * width + rows * columns * ROW_COLUMN_COST)
        if gain > best_gain:
            best, best_gain = width, gain
    return best


Call = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, Any, int], Any]
"""One forward call: (ids, 2-D mask over every cache column, position ids, cache, width) -> output
with the logits of the last `width` columns."""


def decode_drafted(
    rows: Rows,
    feed: Feed,
    drafter: Drafter,
    call: Call,
    on_step: Callable[[int], None] | None,
) -> None:
    """Greedy decoding of `rows` from `feed` until every row is done, each call checking the
    rows' drafts (see the module). Finished rows leave the batch and its cache."""
    past, mask, next_pos = feed.past, feed.mask, feed.next_pos
    pending = (feed.first if feed.first is not None else feed.logits_all[:, -1, :].argmax(dim=-1)).tolist()
    dead = list(feed.dead) or [0] * len(pending)
    in_batch = list(range(len(rows.done)))
    while True:
        rows.take(in_batch, pending)
        if on_step is not None:
            on_step(sum(rows.done))
        if all(rows.done):
            return
        keep = [i for i, r in enumerate(in_batch) if not rows.done[r]]
        if len(keep) < len(in_batch):
            index = torch.tensor(keep, dtype=torch.long, device=mask.device)
            past.batch_select_indices(index)
            mask, next_pos = mask[index], next_pos[index]
            pending, dead, in_batch = [pending[i] for i in keep], [dead[i] for i in keep], [in_batch[i] for i in keep]
        tail = min(dead)
        if tail > 0:  # columns every remaining row hides: drop them
            past.crop(-tail)
            mask = mask[:, :-tail]
        drafts = [drafter.draft(r, rows.produced[r], rows.limits[r] - len(rows.produced[r])) for r in in_batch]
        width = call_width([len(d) for d in drafts], [drafter.rate(r) for r in in_batch], mask.shape[1])
        proposed, drafts = drafts, [d[: width - 1] for d in drafts]
        ids, own = _feeds(pending, drafts, width, mask)
        positions = next_pos + (own.cumsum(-1) - 1).clamp(min=0)
        mask = torch.cat([mask, own], dim=1)
        out = call(ids, mask, positions, past, width)
        past = out.past_key_values
        picks = out.logits.argmax(dim=-1).tolist()
        pending, dead = _check(rows, in_batch, proposed, drafts, picks, mask, drafter)
        next_pos = positions[:, -1:] - torch.tensor(dead, dtype=torch.long, device=mask.device)[:, None] + 1


def _feeds(
    pending: list[int], drafts: list[list[int]], width: int, mask: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each row's next token and draft, left-padded to `width` columns (ids and their mask)."""
    fed = [[tok, *draft] for tok, draft in zip(pending, drafts, strict=True)]
    ids, own = left_pad(fed, 0, mask.device, width)
    return ids, own.to(mask.dtype)


def _check(
    rows: Rows,
    in_batch: list[int],
    proposed: list[list[int]],
    drafts: list[list[int]],
    picks: list[list[int]],
    mask: torch.Tensor,
    drafter: Drafter,
) -> tuple[list[int], list[int]]:
    """Each row keeps its draft up to the first greedy choice that differs (taken as its output,
    which may end it); the rest of the draft's columns are hidden from later calls. Returns each
    row's next token (the choice after what it kept) and the trailing columns it hides. The
    drafter hears how far each draft held, counting the first proposed token left out of the call
    (`proposed` against the fed `drafts`), which the call's last choice checks for free."""
    pending, dead = [], []
    for i, (r, draft) in enumerate(zip(in_batch, drafts, strict=True)):
        choices = picks[i][len(picks[i]) - 1 - len(draft) :]  # choices[j] follows the j-th fed token
        kept = next((j for j, tok in enumerate(draft) if choices[j] != tok), len(draft))
        for tok in draft[:kept]:
            rows.take([r], [tok])
        if kept == len(draft) < len(proposed[i]):
            drafter.observe(r, kept + 1, kept + int(choices[kept] == proposed[i][kept]))
        else:
            drafter.observe(r, len(draft), kept)
        pending.append(choices[kept])
        dead.append(len(draft) - kept)
        if dead[-1]:
            mask[i, mask.shape[1] - dead[-1] :] = 0
    return pending, dead
