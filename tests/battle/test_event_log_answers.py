"""A game following a battle from another window shows the hero's answers too: the battle's event
log keeps the few answers of each eval worth showing (wrong first, bounded), not all of them."""

from __future__ import annotations

from test_event_log import FollowAlong, _fight
from test_session import _step

from realm_tui.battle.event_log import EventLogSink, event_from_dict
from realm_tui.contract.protocol import EvalResult, Hello, Stopped, StopReason
from realm_tui.paths import RealmPaths
from realm_tui.rules.answers import SHOWN_PER_EVAL, choose_samples
from realm_tui.ui.eval_watch import EvalWatch


def test_the_log_keeps_each_evals_answers_to_show(tiny_realm: RealmPaths) -> None:
    results = tuple(
        {"prompt": f"{i}+1=", "expected": str(i + 1), "got": "x" * 1000, "correct": i % 4 == 0, "primitives": []}
        for i in range(40)
    )
    asked = EvalResult(step=1, skill="bin", level=1, accuracy=0.25, total=40, results=results, val_loss=1.5)
    along = FollowAlong(tiny_realm)
    script = [[Hello(1, "fake", "cpu", "fp32")], [_step(1), asked], [_step(2), Stopped(2, StopReason.FINISHED)]]
    _fight(tiny_realm, script, EventLogSink(tiny_realm), along)

    (record,) = [r for r in along.records if r["kind"] == "event" and r["event"]["event"] == "EvalResult"]  # type: ignore[index]
    kept = record["event"]["results"]  # type: ignore[index]
    assert len(kept) == SHOWN_PER_EVAL and not any(r["correct"] for r in kept)
    event = event_from_dict(record["event"])  # type: ignore[arg-type]
    assert isinstance(event, EvalResult) and event.total == 40
    watch = EvalWatch()  # what the following game's Battle screen is handed
    assert watch.on_event(event)
    (shown,) = watch.view().answers
    assert shown.samples == choose_samples(results, SHOWN_PER_EVAL)
    assert watch.view().val == (), "an eval's own loss is not the val line (the checkpoints' is)"
