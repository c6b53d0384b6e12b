"""Generation that running out of memory does not end: halve the batch and retry, down to one.

Evals (`evaluate.score_problems`), the answering child (`evaluate.generate_texts`) and the battle's
examiner answer their problems a batch at a time through `BatchHalving.run`. An out-of-memory
error (`torch.OutOfMemoryError`, or the CPU allocator's RuntimeError) frees what it can, halves the
batch, says so once per halving ("eval batch halved to 16 after out of memory") and answers the
same rows again; the smaller batch is kept for the rest (a second eval does not fail again
first). Greedy answers do not depend on the batch (`evaluate.generate_ids`), so the verdicts are
the ones the full batch would have given. A row that runs out of memory alone is handed to
`failed` (the caller reports it); the others are answered.

`FakeGenerationOom` is fault injection for machines without a GPU, like the trainer's
`runtime.FakeFaults`: `REALM_FAKE_EVAL_OOM="ABOVE"` or `"ABOVE:TIMES"`.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable
from dataclasses import dataclass

import torch

OOM_MARKERS = ("out of memory", "DefaultCPUAllocator: can't allocate memory")
"""What the CPU allocator's (and older CUDA builds') RuntimeError says when memory ran out."""


def is_out_of_memory(err: BaseException) -> bool:
    """Whether `err` is the GPU or the CPU running out of memory (not any other failure)."""
    if isinstance(err, torch.OutOfMemoryError):
        return True
    return isinstance(err, RuntimeError) and any(marker in str(err) for marker in OOM_MARKERS)


def free_memory() -> None:
    """Give back what a failed batch held (its tensors are garbage once the error is dropped)."""
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


@dataclass
class FakeGenerationOom:
    """Fault injection: a generation batch of more than `above` rows raises a fake out-of-memory,
    `times` times in all (None: every time). From the environment: REALM_FAKE_EVAL_OOM="16"
    (every batch over 16 rows) or "16:2" (the first two such batches); "0": even one row fails."""

    above: int | None = None
    times: int | None = None

    @classmethod
    def from_env(cls) -> FakeGenerationOom:
        text = os.environ.get("REALM_FAKE_EVAL_OOM", "").strip()
        if not text:
            return cls()
        above, _, times = text.partition(":")
        return cls(int(above), int(times) if times.strip() else None)

    def check(self, rows: int) -> None:
        if self.above is None or rows <= self.above:
            return
        if self.times is not None:
            if self.times <= 0:
                return
            self.times -= 1
        raise torch.OutOfMemoryError(f"fake out-of-memory (fault injection): a batch of {rows} rows")


def _no_say(_text: str) -> None:
    return None


class BatchHalving:
    """The batch size of one kind of generation (`what`: "eval", "answer"), halved on out of memory
    and kept halved. `say`: where the halving lines go (the battle log)."""

    def __init__(
        self,
        size: int,
        *,
        what: str = "eval",
        say: Callable[[str], None] = _no_say,
        fake: FakeGenerationOom | None = None,
    ) -> None:
        self.size = max(1, size)
        self.what = what
        self.say = say
        self.fake = fake if fake is not None else FakeGenerationOom.from_env()

    def run(
        self,
        total: int,
        answer: Callable[[range], None],
        *,
        failed: Callable[[int, str], None],
        before: Callable[[], None] | None = None,
    ) -> None:
        """Answer rows 0..total-1 in batches: `answer(rows)` per batch (`before()` first, which may
        raise to stop); `failed(row, message)` for a row that ran out of memory alone."""
        start = 0
        while start < total:
            if before is not None:
                before()
            rows = range(start, min(total, start + self.size))
            if self._answered(rows, answer):
                start = rows.stop
            elif len(rows) > 1:
                self.size = max(1, len(rows) // 2)
                self.say(f"{self.what} batch halved to {self.size} after out of memory")
            else:
                failed(start, f"out of memory even alone ({self.what} batch of 1)")
                start = rows.stop

    def _answered(self, rows: range, answer: Callable[[range], None]) -> bool:
        """True when the batch was answered; False when it ran out of memory (freed)."""
        try:
            self.fake.check(len(rows))
            answer(rows)
            return True
        except (torch.OutOfMemoryError, RuntimeError) as err:
            if not is_out_of_memory(err):
                raise
        free_memory()  # outside the except block: the error (and the frames holding tensors) is gone
        return False
