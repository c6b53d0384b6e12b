"""The battle's evals as the Battle screen plots and lists them: validation loss by step, accuracy
per skill by step, and each skill's latest sample answers (no textual here: the battle worker keeps
it in its thread and hands a frozen `EvalCurves` to the UI inside each snapshot)."""

from __future__ import annotations

import math
from collections import deque

from realm_tui.contract.protocol import CheckpointSaved, EvalResult, Event
from realm_tui.rules.answers import EvalAnswers, eval_answers
from realm_tui.ui.models import EvalCurves

KEPT = 600
"""Points kept per series (evals and checkpoints come every few dozen steps: a long battle's worth)."""


class EvalWatch:
    """Fed every trainer event the battle applies; `view()` is what the snapshot carries."""

    def __init__(self) -> None:
        self._val: dict[int, float] = {}
        self._accuracy: dict[str, deque[tuple[float, float]]] = {}
        self._answers: dict[str, EvalAnswers] = {}
        self._view = EvalCurves()

    def clear(self) -> None:
        """A new battle starts with nothing."""
        self._val.clear()
        self._accuracy.clear()
        self._answers.clear()
        self._view = EvalCurves()

    def on_event(self, event: Event) -> bool:
        """Record what `event` shows; True when the view changed (an eval came, a validation loss)."""
        if isinstance(event, EvalResult):
            self._on_eval(event)
        elif not isinstance(event, CheckpointSaved) or not self._val_at(event.step, event.val_loss):
            return False  # nothing the plots show
        self._view = EvalCurves(
            val=tuple(sorted((float(s), v) for s, v in self._val.items())),
            accuracy=tuple((skill, tuple(points)) for skill, points in self._accuracy.items()),
            answers=tuple(self._answers.values()),
        )
        return True

    def view(self) -> EvalCurves:
        return self._view

    def _on_eval(self, event: EvalResult) -> None:
        # The val line is the checkpoints' validation loss (the Readouts' `val`, measured like the
        # train loss), not an eval's loss on its own problems' answers: on other data, another scale.
        if event.request_id != "retest":  # a re-test of an older level would zigzag the curve
            points = self._accuracy.setdefault(event.skill, deque(maxlen=KEPT))
            points.append((float(event.step), event.accuracy))
        if event.results:  # a followed battle's log keeps a few; an eval always has them
            self._answers[event.skill] = eval_answers(
                event.skill, event.level, event.step, event.accuracy, event.results, total=event.total
            )

    def _val_at(self, step: int, value: float | None) -> bool:
        """Keep a validation loss (an eval and the checkpoint of one step carry the same one)."""
        if value is None or not math.isfinite(value) or self._val.get(step) == value:
            return False
        self._val[step] = value
        if len(self._val) > KEPT:
            del self._val[min(self._val)]
        return True
