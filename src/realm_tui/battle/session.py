"""One battle session, the same for the game and for `realm train --no-ui`.

The lifecycle is written once here: plan the battle, make sure the hero has a record, build the
conductor, start the trainer bridge, then read the pipe — every event goes to `Conductor.apply`
(which writes the store), the conductor's commands (curriculum changes, re-tests) and the player's
(pause, resume, stop, evaluate, kill) go to the trainer — until the trainer reports `Stopped`, and
the bridge is closed. What happens is fanned out to sinks, torchtune's metric-logger pattern: a
`Sink` has `on_event` and `close`, and each face brings its own — the rich progress bar
(`battle.render`), plain lines (`battle.plain_render`), JSON lines (`--json`) and the game's poster
of Textual messages (`ui.battle_runner`). This module imports neither textual nor rich.

The session runs in the thread that calls `prepare` and `fight` (the game: its battle worker
thread, so the UI never waits on the pipe; headless: the main thread). Commands reach it through a
queue, so only that thread ever touches the bridge.
"""

from __future__ import annotations

import math
import queue
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType
from typing import Protocol

from realm_tui.battle.conductor import Conductor
from realm_tui.battle.setup import BattlePlan
from realm_tui.contract.protocol import (
    GOOD_ENDINGS,
    Command,
    Event,
    Hello,
    Pause,
    Resume,
    Step,
    Stop,
    Stopped,
    StopReason,
    TrainJob,
)
from realm_tui.errors import RealmError
from realm_tui.paths import RealmPaths
from realm_tui.rules.notifications import Notification
from realm_tui.store import HeroRecord, Store


class Phase(StrEnum):
    """Where the session is (the game's status bar shows it as its `TrainerState`, same values)."""

    IDLE = "idle"
    STARTING = "starting"
    TRAINING = "training"
    PAUSED = "paused"
    STOPPING = "stopping"
    DEAD = "dead"


# ---------------------------------------------------------------- what sinks receive


@dataclass(frozen=True)
class Said:
    """A line for people: a store warning, `stopping: …`, a record that failed; `kind` is the
    game log's colour (`event`, `error`, …)."""

    text: str
    kind: str = "event"


@dataclass(frozen=True)
class Refused:
    """The battle could not be planned (no quest, a bad config, impossible knobs): nothing ran."""

    error: RealmError


@dataclass(frozen=True)
class Planned:
    """The battle is planned (its quest is now being fought); the hero's record comes next."""

    plan: BattlePlan


@dataclass(frozen=True)
class Entered:
    """The hero enters battle: the conductor is ready and the trainer is about to start."""

    plan: BattlePlan
    conductor: Conductor
    start_step: int
    """The step the battle resumes from (0 from the base hero)."""


@dataclass(frozen=True)
class PhaseChanged:
    phase: Phase
    detail: str = ""


@dataclass(frozen=True)
class Applied:
    """A trainer event, recorded by the conductor, with the notifications it raised."""

    event: Event
    notes: tuple[Notification, ...] = ()


@dataclass(frozen=True)
class Sent:
    """A command the session handed the trainer (an `Evaluate` stays in flight until its result)."""

    command: Command


@dataclass(frozen=True)
class Tick:
    """Once per turn of the loop (a few times a second), events or not: time for a heartbeat."""


@dataclass(frozen=True)
class Failed:
    """The session itself failed (not the trainer): it kills or closes the trainer and re-raises."""

    error: Exception


@dataclass(frozen=True)
class Ended:
    """The battle is over; `good`: its stop reason is one of `GOOD_ENDINGS` (None: no `Stopped` came)."""

    stopped: Stopped | None
    good: bool


SessionEvent = Said | Refused | Planned | Entered | PhaseChanged | Applied | Sent | Tick | Failed | Ended

TICK = Tick()


class Sink(Protocol):
    """Where a session's events go (a renderer, a JSON writer, the game's message poster)."""

    def on_event(self, event: SessionEvent) -> None: ...
    def close(self) -> None: ...


class BridgeLike(Protocol):
    """What the session needs of `battle.bridge.TrainerBridge` (`LaunchedBridge`; tests pass fakes)."""

    @property
    def pid(self) -> int | None: ...
    def start(self, job: TrainJob) -> None: ...
    def send(self, command: Command) -> bool: ...
    def stop(self, reason: StopReason = StopReason.REQUESTED) -> bool: ...
    def events(self, timeout: float = 0.1) -> list[Event]: ...
    def close(self, grace: float = 30.0) -> None: ...
    def kill(self) -> None: ...


class Kill:
    """Queue marker: kill the trainer now."""


CommandQueue = queue.SimpleQueue[Command | Kill]

RequestHook = Callable[["BattleSession"], None]
"""Called every turn of the loop in the session's thread (`services.requests.BattleRequests`: the
player's write requests from other processes, applied by this battle, the store's one writer)."""


@dataclass(frozen=True)
class SessionTimings:
    """How a face wants its session paced (the game and headless differ only here)."""

    poll_s: float = 0.1
    """Longest wait on the pipe per turn of the loop."""
    close_grace_s: float = 10.0
    """How long closing the bridge at the end waits for the trainer before killing it."""
    stop_grace_s: float | None = None
    """How long a requested stop may take before the trainer is killed (None: as long as it takes)."""
    kill_on_failure: bool = True
    """When the session fails: kill the trainer at once (the game), or give it `close_grace_s` to
    save a checkpoint (headless)."""


def good_ending(stopped: Stopped | None) -> bool:
    """Whether a battle ended the way nobody minds (the headless exit code 0, the game's idle)."""
    return stopped is not None and stopped.reason in GOOD_ENDINGS


class BattleSession:
    """One battle, from plan to `Stopped`, fanning what happens to its sinks.

    `prepare()` plans and raises the `RealmError` of a refused battle (after telling the sinks);
    `fight()` runs the trainer to its end and returns its `Stopped` (None if the session failed,
    in which case it re-raises). Used as a context manager, it closes its sinks at the end.
    """

    def __init__(
        self,
        store: Store,
        realm: RealmPaths,
        plan: Callable[[], BattlePlan],
        bridge: Callable[[], BridgeLike],
        sinks: Sequence[Sink],
        *,
        commands: CommandQueue | None = None,
        timings: SessionTimings | None = None,
        started_note: Callable[[], str] | None = None,
        requests: RequestHook | None = None,
    ) -> None:
        self.store, self.realm = store, realm
        self._make_plan, self._make_bridge = plan, bridge
        self.sinks = tuple(sinks)
        self.commands: CommandQueue = commands if commands is not None else queue.SimpleQueue()
        self.timings = timings or SessionTimings()
        self._started_note = started_note
        """A line to say once the trainer started (headless `--launch`: the launcher and its job file)."""
        self._requests = requests
        self.phase = Phase.IDLE
        self.plan: BattlePlan | None = None
        self.conductor: Conductor | None = None

    # ------------------------------------------------------------ fan-out

    def emit(self, event: SessionEvent) -> None:
        for sink in self.sinks:
            sink.on_event(event)

    def say(self, text: str, kind: str = "event") -> None:
        self.emit(Said(text, kind))

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()

    def __enter__(self) -> BattleSession:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    # ------------------------------------------------------------ any thread

    def request(self, command: Command) -> None:
        self.commands.put(command)

    def kill(self) -> None:
        self.commands.put(Kill())

    # ------------------------------------------------------------ the session's thread

    def _set_phase(self, phase: Phase, detail: str = "") -> None:
        if phase is not self.phase or detail:
            self.phase = phase
            self.emit(PhaseChanged(phase, detail))

    def prepare(self) -> Conductor:
        """Plan the battle, give the hero a record, build the conductor."""
        self._set_phase(Phase.STARTING, "planning the battle")
        if self._requests is not None:
            self._requests(self)  # requests left while no battle ran go first (a quest moved up)
        try:
            plan = self._make_plan()
        except RealmError as err:
            self._set_phase(Phase.IDLE)
            self.emit(Refused(err))
            raise
        self.plan = plan
        self.emit(Planned(plan))
        if plan.hero.id not in self.store.heroes:
            self.store.heroes.add(HeroRecord(id=plan.hero.id, name=plan.hero.name))
        self.conductor = Conductor(
            self.store,
            self.realm,
            plan.hero,
            plan.campaign.id,
            plan.quest_id,
            plan.keeper,
            board_quest=plan.board_quest,
        )
        start_step = plan.resumed_from.step if plan.resumed_from else 0
        self.emit(Entered(plan, self.conductor, start_step))
        return self.conductor

    def fight(self, cancelled: Callable[[], bool] = lambda: False) -> Stopped | None:
        """Start the trainer and run the battle to its end; `cancelled`: the face is going away
        (the trainer is asked to stop with `closing`, and killed after `stop_grace_s`)."""
        assert self.plan is not None and self.conductor is not None, "prepare() first"
        bridge: BridgeLike | None = None
        stopped: Stopped | None = None
        try:
            bridge = self._make_bridge()
            bridge.start(self.plan.job)
            self._set_phase(Phase.STARTING, f"trainer pid {bridge.pid}")
            if self._started_note is not None:
                self.say(self._started_note())
            stopped = self._pump(bridge, self.conductor, cancelled)
        except Exception as err:  # never leave a face thinking a battle runs
            self.emit(Failed(err))
            if bridge is not None and self.timings.kill_on_failure:
                bridge.kill()
            raise
        finally:
            if bridge is not None:
                bridge.close(grace=self.timings.close_grace_s)
            good = good_ending(stopped)
            reason = stopped.reason if stopped is not None else "lost"
            self._set_phase(Phase.IDLE if good else Phase.DEAD, f"battle ended: {reason}")
            self.emit(Ended(stopped, good))
        return stopped

    def _stop_deadline(self) -> float:
        grace = self.timings.stop_grace_s
        return time.monotonic() + (grace if grace is not None else math.inf)

    def _pump(self, bridge: BridgeLike, conductor: Conductor, cancelled: Callable[[], bool]) -> Stopped:
        deadline: float | None = None
        while True:
            self.emit(TICK)
            if self._requests is not None:
                self._requests(self)  # may queue a pause/resume/stop: handled just below
            if cancelled() and deadline is None:
                bridge.stop(StopReason.CLOSING)
                self._set_phase(Phase.STOPPING, "leaving the realm")
                deadline = self._stop_deadline()
            while not self.commands.empty():
                deadline = self._command(bridge, self.commands.get_nowait(), deadline)
            if deadline is not None and time.monotonic() > deadline:
                bridge.kill()
                deadline = time.monotonic() + 3600.0
            for event in bridge.events(timeout=self.timings.poll_s):
                self._apply(event, conductor)
                for command in conductor.take_commands():  # curriculum changes, re-tests
                    self._send(bridge, command)
                if isinstance(event, Stopped):
                    return event

    def _command(self, bridge: BridgeLike, command: Command | Kill, deadline: float | None) -> float | None:
        """A command from the player (keys, a signal); returns the stop deadline."""
        if isinstance(command, Kill):
            bridge.kill()
            return deadline
        if isinstance(command, Pause) and self.phase is Phase.TRAINING:
            bridge.send(command)
            self._set_phase(Phase.PAUSED, "paused at the next step boundary")
        elif isinstance(command, Resume) and self.phase is Phase.PAUSED:
            bridge.send(command)
            self._set_phase(Phase.TRAINING, "resumed")
        elif isinstance(command, Stop):
            if self.phase is Phase.PAUSED:
                bridge.send(Resume())  # a paused loop only listens for Resume/Stop; be explicit
            bridge.send(command)
            self._set_phase(Phase.STOPPING, "saving a checkpoint, then stopping")
            return deadline if deadline is not None else self._stop_deadline()
        elif not isinstance(command, Pause | Resume):
            self._send(bridge, command)
        return deadline

    def _send(self, bridge: BridgeLike, command: Command) -> None:
        if bridge.send(command):
            self.emit(Sent(command))

    def _apply(self, event: Event, conductor: Conductor) -> None:
        try:
            notes = conductor.apply(event)
        except Exception as err:  # a store problem must not kill the battle: report it, keep reading
            self.say(f"could not record {type(event).__name__}: {err}", kind="error")
            notes = []
        self.emit(Applied(event, tuple(notes)))
        if isinstance(event, Hello) and self.phase is Phase.STARTING:
            self._set_phase(Phase.TRAINING, f"{event.device} {event.precision}")
        elif isinstance(event, Step) and self.phase is Phase.STARTING:
            self._set_phase(Phase.TRAINING)
