"""The battle's ETA: remaining steps at the recent wall-clock pace, evals and saves included.

A mean over the whole battle (or over training time alone) under-states the time left once steps
get dearer: a new level with longer problems, a second skill joining, evals between steps. In play
the game said 5m33s where 18 minutes were left. The pace is measured over the last `window`
steps of wall-clock time, so everything the player waits for is in it. Pure: no torch.
"""

from __future__ import annotations

from collections import deque


class Pace:
    """Wall-clock seconds per step over the last `window` steps."""

    def __init__(self, window: int = 50) -> None:
        self._marks: deque[tuple[float, int]] = deque(maxlen=window + 1)

    def mark(self, step: int, at: float) -> None:
        """Step `step` was reached at monotonic time `at`."""
        self._marks.append((at, step))

    def seconds_per_step(self) -> float | None:
        if len(self._marks) < 2:
            return None
        (t0, s0), (t1, s1) = self._marks[0], self._marks[-1]
        return (t1 - t0) / (s1 - s0) if s1 > s0 else None

    def eta(self, remaining_steps: int) -> float | None:
        """Seconds to go for `remaining_steps`, or None before two steps were timed."""
        per = self.seconds_per_step()
        return None if per is None else max(0, remaining_steps) * per
