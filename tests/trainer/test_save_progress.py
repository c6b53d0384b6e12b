"""A checkpoint is never silent (issue 11): its val pass and its writes send `CheckpointProgress`
before the `CheckpointSaved` that ends them, and a long write repeats its stage."""

from __future__ import annotations

import threading
from typing import Any

from realm_tui.contract.protocol import CheckpointProgress, CheckpointSaved, Event
from realm_tui.trainer.save_progress import SaveProgress, serialized

WRITES = ["writing weights", "writing optimizer", "verifying"]


def test_a_save_reports_its_val_pass_and_writes_before_the_checkpoint(make_job: Any, battle: Any) -> None:
    """The real loop, a quest with a validation split and no minimum time between events: every
    micro-batch of the val pass, then each write, all before the save's CheckpointSaved."""
    stopped, events = battle(make_job(max_steps=2, save_steps=2, micro_batch_tokens=24, step_progress_after_s=0.0))
    assert stopped.step == 2
    saved = events.of(CheckpointSaved)
    assert [c.step for c in saved] == [2], saved
    at_saved = events.index(saved[0])
    progress = [e for e in events[:at_saved] if isinstance(e, CheckpointProgress)]
    assert progress and all(p.step == 2 for p in progress)
    val = [p for p in progress if p.stage == "val quest"]
    passes = [(p.done, p.total) for p in val]
    passes = [x for i, x in enumerate(passes) if i == 0 or x != passes[i - 1]]  # a heartbeat's repeats
    total = passes[-1][1]
    assert total > 1, passes  # the tiny token budget: several micro-batches
    # It announces itself before its first micro-batch, then counts every one.
    assert passes == [(0, 0)] + [(n, total) for n in range(1, total + 1)]
    assert saved[0].val_losses.get("quest") is not None
    stages = [p.stage for p in progress if p.stage in WRITES]
    assert stages[:3] == WRITES, stages  # a heartbeat may repeat a stage, never reorder them
    assert progress.index(val[-1]) < progress.index(next(p for p in progress if p.stage == WRITES[0]))
    assert not [e for e in events[at_saved:] if isinstance(e, CheckpointProgress)]  # the save ended


def test_with_the_default_pace_a_short_save_says_it_began_and_little_more(make_job: Any, battle: Any) -> None:
    """`step_progress_after_s` 1 s: a millisecond save sends its first event and, unless the
    machine is very slow, nothing else; never after its CheckpointSaved."""
    _, events = battle(make_job(max_steps=2, save_steps=2, micro_batch_tokens=24))
    saved = events.index(events.of(CheckpointSaved)[0])
    progress = [i for i, e in enumerate(events) if isinstance(e, CheckpointProgress)]
    assert progress and progress[0] < saved
    assert events[progress[0]].stage == "val quest" and all(i < saved for i in progress)


def test_a_long_write_repeats_its_stage() -> None:
    """A write that takes long (a slow disk): the save's thread sends the stage in hand again
    about every second until the block ends, and never after."""
    sent: list[Event] = []
    more = threading.Event()

    def emit(event: Event) -> None:
        sent.append(event)
        if len(sent) >= 3:
            more.set()

    with SaveProgress(7, emit, every_s=1.0) as progress:
        progress.stage("writing optimizer")
        assert more.wait(60), sent  # a write blocking the main thread: the heartbeat speaks for it
    assert all(isinstance(e, CheckpointProgress) and (e.step, e.stage) == (7, "writing optimizer") for e in sent)


def test_the_battles_events_are_sent_one_at_a_time() -> None:
    """The loop and a save's heartbeat may send at once: `serialized` lets one in at a time (an
    unguarded pipe would interleave their bytes)."""
    inside: list[int] = [0, 0]  # now, most at once
    second = threading.Event()

    def emit(event: Event) -> None:
        inside[0] += 1
        inside[1] = max(inside[1], inside[0])
        if inside[0] > 1:
            second.set()
        second.wait(0.5)  # the first sender lingers: without the lock the other thread comes in now
        inside[0] -= 1

    send = serialized(emit)
    event = CheckpointProgress(1, "val sy")
    threads = [threading.Thread(target=send, args=(event,)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert inside == [0, 1]
