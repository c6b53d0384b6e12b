"""Issue 15, point 3, the write and read sides of the battle's event log: the session's sink writes
JSON lines under saves/battles/ (flushed per line, bounded in size), and the follower reads them
while they are written, keeps a half-written last line for later, follows the log across parts
and says when the writing process is gone. A real realm, plan, store, conductor and session; the
trainer is the scripted fake bridge of test_session (no torch)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

from test_session import FAST, ScriptedBridge, _planner, _step

from realm_tui.battle.event_log import EventLogSink, battles_dir, event_from_dict, pointer_path, read_pointer
from realm_tui.battle.session import Applied, BattleSession, SessionEvent, Sink
from realm_tui.contract.event_json import event_to_dict
from realm_tui.contract.protocol import (
    CheckpointProgress,
    CheckpointSaved,
    Error,
    ErrorKind,
    EvalResult,
    Event,
    Hello,
    Step,
    StepProgress,
    Stopped,
    StopReason,
)
from realm_tui.paths import RealmPaths
from realm_tui.services.battle_follow import BattleFollower
from realm_tui.store import Store


class FollowAlong:
    """A second reader beside the battle: after every trainer event the session applied (and the
    log sink wrote), it polls the follower, as a game in another window does."""

    def __init__(self, realm: RealmPaths) -> None:
        self.follower = BattleFollower(realm)
        self.records: list[dict[str, object]] = []
        self.seen_while_running: list[int] = []

    def on_event(self, event: SessionEvent) -> None:
        if isinstance(event, Applied):
            self.records += self.follower.poll()
            self.seen_while_running.append(len(self.records))

    def close(self) -> None:
        self.records += self.follower.poll()


def _fight(realm: RealmPaths, script: list[list[Event]], *sinks: Sink) -> None:
    bridge = ScriptedBridge(script)
    with (
        Store.open(realm.store_file) as store,
        BattleSession(store, realm, _planner(realm, store), lambda: bridge, list(sinks), timings=FAST) as session,
    ):
        session.prepare()
        session.fight()


def test_the_log_is_read_while_the_battle_writes_it(tiny_realm: RealmPaths) -> None:
    along = FollowAlong(tiny_realm)
    log = EventLogSink(tiny_realm)
    script = [[Hello(1, "fake", "cpu", "fp32")], [_step(1)], [_step(2), Stopped(2, StopReason.FINISHED)]]
    _fight(tiny_realm, script, log, along)  # the log sink first: it writes before the follower reads

    kinds = [r["kind"] for r in along.records]
    assert kinds[0] == "entered" and kinds[-1] == "ended", kinds
    entered = along.records[0]
    assert entered["hero_id"] == "tiny" and entered["start_step"] == 0 and entered["max_steps"] == 2
    events = [r for r in along.records if r["kind"] == "event"]
    assert [e["event"]["event"] for e in events] == ["Hello", "Step", "Step", "Stopped"]  # type: ignore[index]
    # The follower had each event as soon as it was applied, not only at the end.
    assert along.seen_while_running == sorted(along.seen_while_running) and along.seen_while_running[0] > 1
    step = events[1]
    state = step["state"]
    assert isinstance(state, dict) and state["step"] == 1 and "loss_ema" in state and "strain" in state
    assert state["stats"]["xp"] == 1  # the hero's stats, from the conductor
    assert any(r["kind"] == "phase" and r["phase"] == "training" for r in along.records)
    assert along.records[-1]["good"] is True and along.records[-1]["reason"] == "finished"
    # The battle is over: no pointer left, and a new follower finds nothing to follow.
    assert not pointer_path(tiny_realm).exists() and BattleFollower(tiny_realm).poll() == []
    # Every line of the file is a JSON object on its own.
    assert log.file is not None
    assert all(json.loads(line)["kind"] for line in log.file.read_text().splitlines())


def _pointed_log(realm: RealmPaths, name: str = "c-1.jsonl") -> Path:
    battles_dir(realm).mkdir(parents=True, exist_ok=True)
    pointer_path(realm).write_text(json.dumps({"file": name}))
    return battles_dir(realm) / name


def test_a_half_written_last_line_waits_for_its_end(tiny_realm: RealmPaths) -> None:
    file = _pointed_log(tiny_realm)
    step_1 = _step(1)
    step = json.dumps({"kind": "event", "event": event_to_dict(step_1), "note": "naïve ✓"}, ensure_ascii=False)
    step += "\n"
    raw = step.encode()
    cut = raw.index("✓".encode()) + 1  # inside the three bytes of one character
    file.write_bytes(b'{"kind": "phase", "phase": "training"}\nnot json at all\n' + raw[:cut])
    follower = BattleFollower(tiny_realm)
    assert [r["kind"] for r in follower.poll()] == ["phase"] and follower.skipped == 1
    assert follower.poll() == []  # still half a line
    with open(file, "ab") as f:
        f.write(raw[cut:])
    (record,) = follower.poll()
    assert record["note"] == "naïve ✓" and event_from_dict(record["event"]) == step_1


def test_the_log_stays_bounded_and_is_followed_across_its_parts(tiny_realm: RealmPaths) -> None:
    along = FollowAlong(tiny_realm)
    log = EventLogSink(tiny_realm, max_bytes=3000, keep_files=3)
    steps = 40
    script: list[list[Event]] = [[Hello(1, "fake", "cpu", "fp32")]]
    script += [[Step(n, steps, 1.0, 1e-3, 1.0, 10.0, 1.0, 8)] for n in range(1, steps + 1)]
    script.append([Stopped(steps, StopReason.FINISHED)])
    _fight(tiny_realm, script, log, along)

    files = sorted(battles_dir(tiny_realm).glob("*.jsonl"))
    assert len(files) == 3, files  # many parts were written, the oldest pruned
    for file in files:
        assert file.stat().st_size < 3000 + 2000  # the cap, plus the one line that crossed it
        assert json.loads(file.read_text().splitlines()[0])["kind"] == "entered"  # each part is self-contained
    followed = [r["event"]["step"] for r in along.records if r["kind"] == "event" and r["event"]["event"] == "Step"]  # type: ignore[index]
    assert followed == list(range(1, steps + 1))  # every step, in order, across the parts
    parts = [r["part"] for r in along.records if r["kind"] == "entered"]
    assert parts == list(range(len(parts))) and len(parts) > 3


def test_a_writer_gone_without_an_end_is_said(tiny_realm: RealmPaths) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    file = _pointed_log(tiny_realm)
    file.write_text(json.dumps({"kind": "entered", "pid": dead.pid, "campaign_id": "c"}) + "\n")
    follower = BattleFollower(tiny_realm)
    assert [r["kind"] for r in follower.poll()] == ["entered"]
    (ended,) = follower.poll()
    assert ended["kind"] == "ended" and ended["lost"] is True
    assert follower.poll() == []  # said once; the dead battle's log is not replayed


def test_the_log_of_a_battle_killed_long_ago_is_not_replayed(tiny_realm: RealmPaths) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    file = _pointed_log(tiny_realm)
    pointer_path(tiny_realm).write_text(json.dumps({"file": file.name, "pid": dead.pid}))
    file.write_text(json.dumps({"kind": "entered", "pid": dead.pid, "campaign_id": "c"}) + "\n")
    follower = BattleFollower(tiny_realm)
    assert follower.poll() == [] and follower.poll() == []


def test_the_pointer_names_a_file_in_its_folder_only(tiny_realm: RealmPaths) -> None:
    battles_dir(tiny_realm).mkdir(parents=True)
    for bad in ("../../configs/realm.jsonl", "x.yaml", "{broken"):
        pointer_path(tiny_realm).write_text(json.dumps({"file": bad}) if bad[0] != "{" else bad)
        assert read_pointer(tiny_realm) is None, bad


def test_trainer_events_come_back_from_their_json() -> None:
    events = [
        Hello(7, "2.5", "cpu", "fp32", hero_id="tiny"),
        Step(3, 9, math.nan, 1e-3, 1.0, 10.0, 1.0, 8, metrics={"kl": 0.5}),
        EvalResult(3, "sy", 1, 0.5, 4, request_id="retest"),
        CheckpointSaved(3, "/c", "ckpt-3", 1.0, None, 1e-3, 10, "q", notes={"a": 1}),
        Error("boom", fatal=True, kind=ErrorKind.ERROR),
        Stopped(3, StopReason.REQUESTED, "ckpt-3"),
        StepProgress(4, 3, 8, 2891, 7702),
        CheckpointProgress(3, "val sy", 2, 5),
    ]
    for event in events:
        back = event_from_dict(json.loads(json.dumps(event_to_dict(event))))
        assert type(back) is type(event)
        if isinstance(event, Step):
            assert isinstance(back, Step) and math.isnan(back.loss) and back.metrics == {"kl": 0.5}
        else:
            assert back == event
    assert event_from_dict({"event": "FromTheFuture"}) is None
    assert event_from_dict({"event": "Step", "step": 1}) is None  # fields missing: skipped, not raised


def test_the_followed_game_shows_what_the_log_carries(tiny_realm: RealmPaths) -> None:
    """The read side in the game, without a terminal: the records of a real (scripted) battle go
    through `FollowedBattle`, which posts what the game's own battles post."""
    from realm_tui.ui.battle_follow import FollowedBattle
    from realm_tui.ui.game import Game
    from realm_tui.ui.messages import NotificationRaised, StepUpdate, TrainerStateChanged
    from realm_tui.ui.models import TrainerState

    log = EventLogSink(tiny_realm)
    along = FollowAlong(tiny_realm)
    script = [[Hello(1, "fake", "cpu", "fp32")], [_step(1)], [_step(2), Stopped(2, StopReason.FINISHED)]]
    _fight(tiny_realm, script, log, along)

    posted: list[object] = []
    game = Game.open(tiny_realm)
    try:
        followed = FollowedBattle(game, posted.append)
        for record in along.records:
            followed._apply(record)  # what the follow thread does with each record
    finally:
        game.close()
    steps = [m.snapshot for m in posted if isinstance(m, StepUpdate)]
    assert steps and steps[-1].step == 2 and steps[-1].hero_id == "tiny" and steps[-1].stats.xp == 2
    assert [p.step for p in steps[-1].history] == [1, 2] and steps[-1].loss_ema is not None
    states = [m.state for m in posted if isinstance(m, TrainerStateChanged)]
    assert TrainerState.TRAINING in states and states[-1] is TrainerState.IDLE
    (ended,) = [m for m in posted if isinstance(m, NotificationRaised) and m.notification.title == "Battle over"]
    assert "ended at step 2 (finished)" in ended.notification.body
    assert followed.state is TrainerState.IDLE and followed.finished.is_set()  # never waited on to stop


def test_a_followed_battle_shows_the_step_in_flight(tiny_realm: RealmPaths) -> None:
    """A long step's micro-batches (`StepProgress`) reach a game in another window as they reach
    the game's own battle: the snapshot's `step_part` (the step line's `· 3/8`), gone with the Step."""
    from realm_tui.ui.battle_follow import FollowedBattle
    from realm_tui.ui.game import Game
    from realm_tui.ui.messages import StepUpdate

    log = EventLogSink(tiny_realm)
    along = FollowAlong(tiny_realm)
    part = StepProgress(2, 3, 8, 2891, 7702)
    script = [[Hello(1, "fake", "cpu", "fp32")], [_step(1)], [part], [_step(2), Stopped(2, StopReason.FINISHED)]]
    _fight(tiny_realm, script, log, along)

    posted: list[object] = []
    game = Game.open(tiny_realm)
    try:
        game.options.ui_step_interval_s = 0.0  # every snapshot posted, none held back for later
        followed = FollowedBattle(game, posted.append)
        for record in along.records:
            followed._apply(record)
    finally:
        game.close()
    shown = [(m.snapshot.step, m.snapshot.step_part) for m in posted if isinstance(m, StepUpdate)]
    assert (1, "3/8") in shown, shown
    assert shown[-1] == (2, ""), shown


def test_steering_without_a_request_path_says_so(tiny_realm: RealmPaths) -> None:
    import importlib.util

    import pytest

    from realm_tui.errors import RealmError
    from realm_tui.services.battle_follow import NOT_YET, steer

    if importlib.util.find_spec("realm_tui.services.requests") is not None:
        pytest.skip("the request path exists: tests/ui/test_follow_battle.py pauses through it")
    with pytest.raises(RealmError, match=NOT_YET):
        steer(tiny_realm, "battle.pause")


def test_a_damaged_line_is_skipped_and_the_following_goes_on(tiny_realm: RealmPaths) -> None:
    import threading

    from realm_tui.ui.battle_follow import FollowedBattle
    from realm_tui.ui.game import Game
    from realm_tui.ui.messages import BattleLogged, NotificationRaised

    file = _pointed_log(tiny_realm)
    lines = [{"kind": "entered", "campaign_id": "c", "quest_id": "q"}, {"kind": "sent"}, {"kind": "ended", "step": 3}]
    file.write_text("".join(json.dumps(line) + "\n" for line in lines))
    posted: list[object] = []
    over = threading.Event()

    def post(message: object) -> None:
        posted.append(message)
        if isinstance(message, NotificationRaised) and message.notification.title == "Battle over":
            over.set()

    game = Game.open(tiny_realm)
    followed = FollowedBattle(game, post)  # type: ignore[arg-type]
    try:
        followed.start()
        assert over.wait(120), posted
    finally:
        followed.stop_following()
        game.close()
    said = [m.line.text for m in posted if isinstance(m, BattleLogged)]
    assert any(text.startswith("battle log line skipped (KeyError") for text in said), said
