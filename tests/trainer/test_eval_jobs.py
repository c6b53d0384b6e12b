"""Evals are jobs, not stalls: an eval in flight reports progress, a Stop cuts it short (never a
result, the checkpoint still saved), and an eval that fails is reported while the battle goes on."""

from __future__ import annotations

import pytest
from trainer_testkit import Events

from realm_tui.contract.protocol import CheckpointSaved, Command, Error, EvalProgress, EvalResult, Log, Stop
from realm_tui.trainer import examiner, loop
from realm_tui.trainer.control import ScriptedControl
from realm_tui.trainer.runtime import FakeFaults


def bin_only(level: int) -> dict:
    return {
        "strategy": "weighted",
        "focus_skill": None,
        "quest_share": 0.0,
        "review_share": 0.0,
        "skills": {
            "bin": {"level": level, "mastered": 0, "weight": 1.0, "review_levels": [], "maintenance_levels": []}
        },
    }


@pytest.fixture
def eager(monkeypatch: pytest.MonkeyPatch) -> None:
    """Progress at every decoding step and a look for Stop at every step: the tiny hero answers
    faster than the real cadences (1 s, 0.2 s), and the tests must not depend on the clock."""
    monkeypatch.setattr(examiner, "PROGRESS_EVERY_S", 0.0)
    monkeypatch.setattr(loop, "STOP_POLL_S", 0.0)


class StopWhenEvalRuns:
    """A control that sends Stop once an eval in flight has answered some of its problems."""

    def __init__(self, events: Events) -> None:
        self.events = events
        self.sent = False

    def poll(self, timeout: float = 0.0) -> list[Command]:
        running = any(isinstance(e, EvalProgress) and 0 < e.done < e.total for e in self.events)
        if running and not self.sent:
            self.sent = True
            return [Stop()]
        return []


def test_an_eval_in_flight_reports_progress_then_its_result(make_job, battle, eager) -> None:
    job = make_job(quest_paths=(), curriculum=bin_only(6), eval_every_steps=2, eval_samples=64, max_steps=2)
    stopped, events = battle(job)
    assert stopped.reason == "finished"
    result = next(e for e in events.of(EvalResult) if e.step == 2)
    progress = [e for e in events.of(EvalProgress) if e.step == 2 and e.skill == "bin"]
    assert progress[0].done == 0 and progress[0].total == result.total == 64, "announced before any answer"
    middle = [p for p in progress if 0 < p.done < p.total]
    assert middle, "progress while the eval runs"
    assert all(p.eta_s is not None and p.eta_s >= 0 for p in middle)
    assert [p.done for p in progress] == sorted(p.done for p in progress)
    assert not any(p.cut_short for p in progress)
    assert events.index(progress[-1]) < events.index(result), "the result ends the job"


def test_stop_during_an_eval_cuts_it_short_and_still_saves(make_job, eager) -> None:
    from realm_tui.trainer.loop import run_battle

    job = make_job(quest_paths=(), curriculum=bin_only(6), eval_every_steps=2, eval_samples=256, max_steps=50)
    events = Events()
    stopped = run_battle(job, events, StopWhenEvalRuns(events))
    assert stopped.reason == "requested" and stopped.step == 2, "stopped at the step of the eval"
    cut = [e for e in events.of(EvalProgress) if e.cut_short]
    assert len(cut) == 1 and cut[0].step == 2 and 0 < cut[0].done < cut[0].total
    assert not events.of(EvalResult), "a cut-short eval has no result, so it never counts toward a level"
    assert any("cut short" in e.message and "not counted" in e.message for e in events.of(Log))
    assert events.of(EvalProgress)[-1] is cut[0], "no other eval starts before the last checkpoint"
    saved = events.of(CheckpointSaved)
    assert saved and saved[-1].step == 2 and stopped.checkpoint == saved[-1].path
    assert events.index(cut[0]) < events.index(saved[-1])


def test_an_eval_that_fails_is_reported_and_the_battle_goes_on(make_job, battle) -> None:
    job = make_job(quest_paths=(), curriculum=bin_only(2), eval_every_steps=2, eval_samples=16, max_steps=4)
    stopped, events = battle(job, fake_faults=FakeFaults(eval_error_at_step={2: 1}))
    assert stopped.reason == "finished" and stopped.step == 4
    errors = [e for e in events.of(Error) if e.kind == "eval"]
    assert len(errors) == 1 and not errors[0].fatal
    assert "eval bin L2 at step 2 failed" in errors[0].message and "fault injection" in errors[0].message
    assert [e.step for e in events.of(EvalResult)] == [4], "the next eval runs as usual"
    assert [e.step for e in events.of(EvalProgress) if e.cut_short] == [2], "the failed eval's job ends"
    assert events.of(CheckpointSaved)[-1].step == 4


def test_a_stop_between_steps_saves_without_running_the_evals_first(make_job, battle) -> None:
    """The last checkpoint would run the evals of its step first: while stopping they are skipped
    (a stop must not wait for evals), so the checkpoint has no evals of its own."""
    job = make_job(quest_paths=(), curriculum=bin_only(2), eval_every_steps=2, eval_samples=16, max_steps=50)
    stopped, events = battle(job, ScriptedControl({3: [Stop()]}))
    assert stopped.reason == "requested" and stopped.step == 3
    assert [e.step for e in events.of(EvalResult)] == [2]
    assert {e.step for e in events.of(EvalProgress)} == {2}, "no eval started at step 3"
    assert any("evals at step 3 skipped" in e.message for e in events.of(Log))
    assert events.of(CheckpointSaved)[-1].step == 3


def test_a_save_due_by_time_waits_for_the_next_eval_step(make_job, battle) -> None:
    # Play-test: a time save two steps after the scheduled evals ran the same evals again (26 s).
    # Every step is past save_minutes here: saves come only at eval steps, each judged once.
    job = make_job(
        quest_paths=(),
        curriculum=bin_only(1),
        eval_every_steps=3,
        eval_samples=8,
        max_steps=7,
        save_steps=1000,
        save_minutes=1e-9,
    )
    stopped, events = battle(job)
    assert stopped.reason == "finished"
    saved = [e.step for e in events.of(CheckpointSaved)]
    assert saved == [3, 6, 7], saved  # 7: the battle's last step is always saved (and judged)
    evals = [e.step for e in events.of(EvalResult)]
    assert evals == [3, 6, 7], evals  # no step evaluated twice, no eval at a step that saved nothing


def test_the_val_loss_of_an_eval_is_measured_on_its_first_problems(make_job, battle, monkeypatch) -> None:
    """The accuracy is over every problem of the eval; its val_loss (a mean over thousands of
    answer tokens) over the first VAL_LOSS_PROBLEMS, a third of the cost it had."""
    from realm_tui.trainer import schools

    sizes: list[int] = []
    real = schools.eval_loss

    def measured(model, examples, *args, **kwargs):  # the real loss, its input size noted
        sizes.append(len(examples))
        return real(model, examples, *args, **kwargs)

    monkeypatch.setattr(schools, "eval_loss", measured)
    job = make_job(quest_paths=(), curriculum=bin_only(6), eval_every_steps=2, eval_samples=64, max_steps=2)
    stopped, events = battle(job)
    assert stopped.reason == "finished"
    result = next(e for e in events.of(EvalResult) if e.step == 2)
    assert result.total == len(result.results) == 64 and result.val_loss is not None
    # The eval's loss, then the checkpoint's (its own validation examples, 64 here).
    assert examiner.VAL_LOSS_PROBLEMS < 64 and sizes == [examiner.VAL_LOSS_PROBLEMS, 64]
