"""One battle session for both faces: the lifecycle fanned to sinks, the player's commands, the
ending decided once. A real realm, plan, store and conductor; the trainer is a scripted fake bridge
(no torch), and a sink records what the session fanned out."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from realm_tui.battle.render import JsonRenderer
from realm_tui.battle.session import (
    Applied,
    BattleSession,
    Ended,
    Entered,
    Failed,
    Phase,
    PhaseChanged,
    Planned,
    Refused,
    SessionEvent,
    SessionTimings,
    Tick,
)
from realm_tui.battle.setup import BattlePlan, plan_battle
from realm_tui.config.realm_config import load_realm_configs
from realm_tui.contract.protocol import (
    Command,
    Error,
    ErrorKind,
    Event,
    Hello,
    Pause,
    Step,
    Stop,
    Stopped,
    StopReason,
    TrainJob,
)
from realm_tui.errors import InputError
from realm_tui.paths import RealmPaths
from realm_tui.rules.notifications import NotificationKind
from realm_tui.store import Store

FAST = SessionTimings(poll_s=0.0, close_grace_s=0.0, stop_grace_s=None)


@dataclass
class ScriptedBridge:
    """A fake trainer (the machine has no GPU to spare for these): hands out `script` one batch per
    `events()` call; a Stop ends the battle with that reason."""

    script: list[list[Event]] = field(default_factory=list)
    sent: list[Command] = field(default_factory=list)
    killed: bool = False
    closed: bool = False
    job: TrainJob | None = None

    @property
    def pid(self) -> int | None:
        return 4242

    def start(self, job: TrainJob) -> None:
        self.job = job

    def send(self, command: Command) -> bool:
        self.sent.append(command)
        if isinstance(command, Stop):
            self.script = [[Stopped(1, command.reason)]]
        return True

    def stop(self, reason: StopReason = StopReason.REQUESTED) -> bool:
        return self.send(Stop(reason=reason))

    def events(self, timeout: float = 0.1) -> list[Event]:
        return self.script.pop(0) if self.script else []

    def close(self, grace: float = 30.0) -> None:
        self.closed = True

    def kill(self) -> None:
        self.killed = True


class Recorder:
    """A sink that keeps what it saw; `react` may answer an event (a player pressing a key)."""

    def __init__(self, react: Callable[[SessionEvent], None] = lambda _e: None) -> None:
        self.seen: list[SessionEvent] = []
        self.react = react
        self.closed = False

    def on_event(self, event: SessionEvent) -> None:
        if not isinstance(event, Tick):
            self.seen.append(event)
        self.react(event)

    def close(self) -> None:
        self.closed = True

    def phases(self) -> list[tuple[Phase, str]]:
        return [(e.phase, e.detail) for e in self.seen if isinstance(e, PhaseChanged)]


def _step(n: int) -> Step:
    return Step(step=n, max_steps=2, loss=1.0, lr=1e-3, grad_norm=1.0, tokens_per_s=10.0, eta_s=1.0, tokens=8)


def _planner(realm: RealmPaths, store: Store) -> Callable[[], BattlePlan]:
    configs = load_realm_configs(realm.configs)
    return lambda: plan_battle(realm, configs, store, hero_id="tiny", steps=2)


def test_a_battle_fans_its_lifecycle_to_every_sink(tiny_realm: RealmPaths) -> None:
    bridge = ScriptedBridge([[Hello(1, "fake", "cpu", "fp32")], [_step(1)], [_step(2), Stopped(2, "finished")]])
    recorder, out = Recorder(), io.StringIO()
    with Store.open(tiny_realm.store_file) as store:
        with BattleSession(
            store, tiny_realm, _planner(tiny_realm, store), lambda: bridge, [recorder, JsonRenderer(out)], timings=FAST
        ) as session:
            session.prepare()
            stopped = session.fight()
        assert "tiny" in store.heroes  # the hero got its record
    assert stopped is not None and stopped.reason is StopReason.FINISHED and bridge.closed
    kinds = [type(e).__name__ for e in recorder.seen]
    assert kinds[:3] == ["PhaseChanged", "Planned", "Entered"] and kinds[-2:] == ["PhaseChanged", "Ended"]
    assert [type(e.event).__name__ for e in recorder.seen if isinstance(e, Applied)] == [
        "Hello",
        "Step",
        "Step",
        "Stopped",
    ]
    assert recorder.phases() == [
        (Phase.STARTING, "planning the battle"),
        (Phase.STARTING, "trainer pid 4242"),
        (Phase.TRAINING, "cpu fp32"),
        (Phase.IDLE, "battle ended: finished"),
    ]
    entered = next(e for e in recorder.seen if isinstance(e, Entered))
    assert entered.start_step == 0 and entered.plan.hero.id == "tiny"
    assert recorder.seen[-1] == Ended(stopped, good=True) and recorder.closed
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [x["event"] for x in lines if x["event"] not in ("Message", "Notification")] == [
        "Hello",
        "Step",
        "Step",
        "Stopped",
    ]
    assert lines[-1]["reason"] == "finished" and any("enters battle" in x.get("text", "") for x in lines)


def test_a_fatal_error_is_a_dead_battle_with_one_trainer_died_note(tiny_realm: RealmPaths) -> None:
    died = Error("CUDA out of memory\ndetail", fatal=True, kind=ErrorKind.ERROR)
    bridge = ScriptedBridge([[Hello(1, "fake", "cpu", "fp32")], [died, Stopped(-1, StopReason.ERROR)]])
    recorder, out = Recorder(), io.StringIO()
    with (
        Store.open(tiny_realm.store_file) as store,
        BattleSession(
            store, tiny_realm, _planner(tiny_realm, store), lambda: bridge, [recorder, JsonRenderer(out)], timings=FAST
        ) as session,
    ):
        session.prepare()
        session.fight()
    applied = next(e for e in recorder.seen if isinstance(e, Applied) and isinstance(e.event, Error))
    assert [n.kind for n in applied.notes] == [NotificationKind.TRAINER_DIED]
    assert recorder.phases()[-1] == (Phase.DEAD, "battle ended: error")
    assert recorder.seen[-1] == Ended(Stopped(-1, StopReason.ERROR, at=recorder.seen[-1].stopped.at), good=False)  # type: ignore[union-attr]
    notes = [json.loads(x) for x in out.getvalue().splitlines() if '"Notification"' in x]
    assert notes and notes[0]["text"].startswith("Trainer stopped unexpectedly: CUDA out of memory")


def test_pause_then_stop_from_the_player(tiny_realm: RealmPaths) -> None:
    bridge = ScriptedBridge([[Hello(1, "fake", "cpu", "fp32")], [_step(1)], [], [], []])
    session: BattleSession | None = None

    def player(event: SessionEvent) -> None:
        assert session is not None
        if isinstance(event, Applied) and isinstance(event.event, Hello):
            session.request(Pause())
        elif isinstance(event, PhaseChanged) and event.phase is Phase.PAUSED:
            session.request(Stop(reason=StopReason.REQUESTED))

    recorder = Recorder(player)
    with Store.open(tiny_realm.store_file) as store:
        session = BattleSession(
            store, tiny_realm, _planner(tiny_realm, store), lambda: bridge, [recorder], timings=FAST
        )
        session.prepare()
        stopped = session.fight()
    assert [type(c).__name__ for c in bridge.sent] == ["Pause", "Resume", "Stop"]  # a paused loop hears Resume first
    assert stopped is not None and stopped.reason == "requested"
    assert [p for p, _ in recorder.phases()][-3:] == [Phase.PAUSED, Phase.STOPPING, Phase.IDLE]


def test_a_refused_plan_tells_the_sinks_and_raises(tiny_realm: RealmPaths) -> None:
    def refuse() -> BattlePlan:
        raise InputError(None, "no quest to fight")

    recorder = Recorder()
    with Store.open(tiny_realm.store_file) as store:
        session = BattleSession(store, tiny_realm, refuse, ScriptedBridge, [recorder], timings=FAST)
        with pytest.raises(InputError):
            session.prepare()
    assert isinstance(recorder.seen[-1], Refused) and "no quest" in str(recorder.seen[-1].error)
    assert recorder.phases() == [(Phase.STARTING, "planning the battle"), (Phase.IDLE, "")]
    assert not any(isinstance(e, Planned) for e in recorder.seen)


def test_a_failing_session_kills_the_trainer_and_says_so(tiny_realm: RealmPaths) -> None:
    bridge = ScriptedBridge([[Hello(1, "fake", "cpu", "fp32")], [_step(1)]])

    def broken(event: SessionEvent) -> None:
        if isinstance(event, Applied) and isinstance(event.event, Step):
            raise RuntimeError("a sink broke")

    recorder = Recorder(broken)
    with Store.open(tiny_realm.store_file) as store:
        session = BattleSession(
            store, tiny_realm, _planner(tiny_realm, store), lambda: bridge, [recorder], timings=FAST
        )
        session.prepare()
        with pytest.raises(RuntimeError):
            session.fight()
    assert bridge.killed and bridge.closed
    failed = next(e for e in recorder.seen if isinstance(e, Failed))
    assert str(failed.error) == "a sink broke"
    assert recorder.phases()[-1] == (Phase.DEAD, "battle ended: lost") and recorder.seen[-1] == Ended(None, good=False)


def test_the_session_imports_neither_textual_nor_rich() -> None:
    probe = "import sys, realm_tui.battle.session\nprint(sorted({m.split('.')[0] for m in sys.modules}))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert "'textual'" not in loaded and "'rich'" not in loaded and "'torch'" not in loaded


def test_a_bridge_that_cannot_be_made_is_a_dead_battle_not_a_hang(tiny_realm: RealmPaths) -> None:
    def no_bridge() -> ScriptedBridge:
        raise OSError("cannot spawn")

    recorder = Recorder()
    with Store.open(tiny_realm.store_file) as store:
        session = BattleSession(store, tiny_realm, _planner(tiny_realm, store), no_bridge, [recorder], timings=FAST)
        session.prepare()
        with pytest.raises(OSError):
            session.fight()
    assert any(isinstance(e, Failed) for e in recorder.seen)
    assert recorder.phases()[-1] == (Phase.DEAD, "battle ended: lost")  # the status bar never stays "starting"
