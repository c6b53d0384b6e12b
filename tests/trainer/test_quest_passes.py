"""A quest is done when its examples were trained for its passes, not when a battle's steps end:
QuestFinished comes once, at the step that trained its last example, with the steps that trained
it (over every battle it took); a battle that ends before keeps its position for the next one."""

from __future__ import annotations

import math

from realm_tui.contract.protocol import CheckpointSaved, Log, QuestFinished, QuestStarted, Step, Stop
from realm_tui.trainer.control import ScriptedControl


def test_a_quest_only_battle_ends_when_its_quest_is_trained(make_job, battle) -> None:
    stopped, events = battle(make_job(max_steps=100, batch_size=8, quest_passes=1.0))
    train = events.of(QuestStarted)[0].examples
    need = math.ceil(train / 8)
    (finished,) = events.of(QuestFinished)
    assert finished.quest_id == "q-test" and finished.steps == need
    assert stopped.reason == "finished" and stopped.step == need  # nothing else to train: it ends there
    steps = events.of(Step)
    assert steps[-1].quest_progress == 1.0 and 0 < steps[0].quest_progress < 1.0
    assert events.of(CheckpointSaved)[-1].step == need


def test_a_short_battle_leaves_the_quest_in_progress_and_the_next_one_finishes_it(make_job, battle, tmp_path) -> None:
    common = dict(batch_size=8, quest_passes=1.0, checkpoints_dir=str(tmp_path / "ck"))
    _, straight = battle(make_job(max_steps=100, batch_size=8, quest_passes=1.0, checkpoints_dir=str(tmp_path / "a")))
    need = straight.of(QuestFinished)[0].steps

    first_stop, first = battle(make_job(max_steps=2, **common))
    assert first_stop.reason == "finished" and first_stop.step == 2
    assert not first.of(QuestFinished)
    assert "quest q-test in progress" in first.of(Log)[-1].message and "2 steps" in first.of(Log)[-1].message
    assert first.of(Step)[-1].quest_progress < 1.0

    second_stop, second = battle(make_job(max_steps=100, resume_from=first_stop.checkpoint, **common))
    (finished,) = second.of(QuestFinished)
    assert finished.steps == need  # 2 steps in the first battle + the rest here, same examples
    assert second_stop.step == need
    assert [s.loss for s in first.of(Step) + second.of(Step)] == [s.loss for s in straight.of(Step)]


def test_another_quest_starts_at_its_beginning(make_job, battle, tmp_path) -> None:
    common = dict(batch_size=8, quest_passes=1.0, checkpoints_dir=str(tmp_path / "ck"))
    first_stop, _ = battle(make_job(max_steps=2, **common), ScriptedControl({}))
    _, other = battle(make_job(max_steps=100, quest_id="q-other", resume_from=first_stop.checkpoint, **common))
    (finished,) = other.of(QuestFinished)
    train = other.of(QuestStarted)[0].examples
    assert finished.quest_id == "q-other" and finished.steps == math.ceil(train / 8)
    assert other.of(Step)[0].step == 3 and other.of(Step)[0].quest_progress < 2 * 8 / train + 1e-9


def test_stop_before_the_end_sends_no_quest_finished(make_job, battle) -> None:
    stopped, events = battle(make_job(max_steps=100, quest_passes=1.0), ScriptedControl({1: [Stop()]}))
    assert stopped.reason == "requested" and not events.of(QuestFinished)
