"""What the Battle screen's eval plots are handed: the checkpoints' validation losses by step (the
same step counts once; an eval's own loss is not one), accuracy per skill at its training level (re-tests left out),
the latest answers per skill; nothing before the first validation."""

from __future__ import annotations

import math

from realm_tui.contract.protocol import CheckpointSaved, EvalResult, Step
from realm_tui.ui.eval_watch import EvalWatch


def _eval(step: int, skill: str = "bin", level: int = 1, acc: float = 0.5, **kw: object) -> EvalResult:
    results = ({"prompt": "p", "expected": "e", "got": "g", "correct": False},)
    return EvalResult(step=step, skill=skill, level=level, accuracy=acc, total=1, results=results, **kw)  # type: ignore[arg-type]


def _saved(step: int, val: float | None) -> CheckpointSaved:
    return CheckpointSaved(step, "/x", f"c-{step}", 1.0, val, 1e-3, 1)


def test_curves_and_answers_by_eval() -> None:
    watch = EvalWatch()
    assert not watch.on_event(Step(1, 10, 1.0, 1e-3, 1.0, 1.0, 1.0, 1))
    assert not watch.on_event(_saved(2, None)) and watch.view().val == ()  # no validation: no val line
    assert watch.on_event(_eval(4, val_loss=0.002))
    assert watch.view().val == (), "an eval's loss on its own answers is not the val line"
    assert watch.on_event(_saved(4, 2.0))
    assert not watch.on_event(_saved(4, 2.0))  # the same validation at the same step: once
    assert watch.on_event(_saved(6, 1.5)) and not watch.on_event(_saved(7, math.nan))
    assert watch.on_event(_eval(8, acc=0.75)) and watch.on_event(_eval(8, level=0, acc=0.1, request_id="retest"))
    assert watch.on_event(_eval(8, skill="sy", acc=0.2))
    view = watch.view()
    assert view.val == ((4.0, 2.0), (6.0, 1.5))
    assert dict(view.accuracy) == {"bin": ((4.0, 0.5), (8.0, 0.75)), "sy": ((8.0, 0.2),)}
    assert [(a.skill, a.level, a.step) for a in view.answers] == [("bin", 0, 8), ("sy", 1, 8)]
    watch.clear()
    assert watch.view().val == () and watch.view().answers == ()
