"""The battle as the UI runs it: plan, trainer bridge and conductor in one worker thread.

`BattleController.run` is the body of the App's `@work(thread=True)` battle worker. It mirrors
`battle.headless.run_headless`: plan the battle, start the trainer child, then read the pipe and
hand every event to `Conductor.apply` (which writes the store; store methods are thread-safe).
What the UI needs is posted as small typed messages; commands from the keyboard arrive through a
queue, so only this thread ever touches the bridge.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from textual.message import Message

from realm_tui.battle.conductor import Conductor
from realm_tui.battle.setup import BattlePlan, plan_battle
from realm_tui.battle.watch import open_watch
from realm_tui.contract.protocol import (
    CheckpointSaved,
    Command,
    Error,
    EvalProgress,
    EvalResult,
    Evaluate,
    Event,
    Hello,
    Log,
    Pause,
    QuestStarted,
    Resume,
    Step,
    Stop,
    Stopped,
    TrainJob,
)
from realm_tui.contract.protocol import QuestFinished as QuestFinishedEvent
from realm_tui.errors import RealmError
from realm_tui.rules.notifications import Notification, battle_refused, trainer_died
from realm_tui.store import HeroRecord
from realm_tui.ui.messages import (
    BattleLogged,
    CheckpointAdded,
    NotificationRaised,
    QuestBoardChanged,
    QuestFinished,
    StepUpdate,
    TrainerStateChanged,
)
from realm_tui.ui.models import BattleSnapshot, LogLine, PendingEval, StepPoint, TrainerState

if TYPE_CHECKING:
    from realm_tui.ui.game import Game

HISTORY = 600
"""Plotted points kept (every Step event the trainer sends, a few per second)."""
GOOD_ENDINGS = {"finished", "requested", "signal", "closing"}


class BridgeLike(Protocol):
    """What the controller needs of `battle.bridge.TrainerBridge` (tests pass a fake)."""

    @property
    def pid(self) -> int | None: ...
    def start(self, job: TrainJob) -> None: ...
    def send(self, command: Command) -> bool: ...
    def stop(self, reason: str = "requested") -> bool: ...
    def events(self, timeout: float = 0.1) -> list[Event]: ...
    def close(self, grace: float = 30.0) -> None: ...
    def kill(self) -> None: ...


class _Kill:
    """Queue marker: kill the child now."""


class BattleController:
    """One battle at a time. `run` happens in a worker thread; the other methods in the UI thread."""

    def __init__(self, game: Game, post: Callable[[Message], object]) -> None:
        self.game = game
        self._post = post
        self._commands: queue.SimpleQueue[Command | _Kill] = queue.SimpleQueue()
        self.state = TrainerState.IDLE
        """Written by the worker; the UI reads it (a plain attribute read is atomic)."""
        self.plan: BattlePlan | None = None
        self._history: deque[StepPoint] = deque(maxlen=HISTORY)
        self._metrics: dict[str, float] = {}
        """The latest Step's school metrics (the conductor does not keep them)."""
        self.pending_evals: tuple[PendingEval, ...] = ()
        """`Evaluate` commands sent to the trainer and not answered yet (the worker replaces the
        tuple, the UI reads it for the jobs table)."""
        self.eval_running: EvalProgress | None = None
        self.eval_started_at: float | None = None
        """When the eval in flight began (its first EvalProgress): an eval whose answers all run to
        their budget reports 0/N until its end, so the Jobs row shows its time running instead."""
        """The trainer's eval in flight (its latest progress), None when none runs."""
        self._step = 0
        self._posted_at = 0.0
        self._step_waiting = False
        self.finished = threading.Event()
        """Set while no battle worker runs (the App waits on it before closing the store)."""
        self.finished.set()

    # ------------------------------------------------------------ UI thread

    @property
    def busy(self) -> bool:
        return self.state.busy

    def request(self, command: Command) -> None:
        self._commands.put(command)

    def kill(self) -> None:
        self._commands.put(_Kill())

    # ------------------------------------------------------------ worker thread

    def _set_state(self, state: TrainerState, detail: str = "") -> None:
        if state is not self.state or detail:
            self.state = state
            self._post(TrainerStateChanged(state, detail))

    def _log(self, kind: str, text: str) -> None:
        self._post(BattleLogged(LogLine(kind, text)))

    def _plan(self) -> BattlePlan:
        """Plan as `realm train --no-ui` does (the quest board serves the quest)."""
        game = self.game
        return plan_battle(game.realm, game.configs, game.store, steps=game.options.battle_steps)

    def run(self, cancelled: Callable[[], bool]) -> None:
        """The worker body: one battle from plan to Stopped."""
        self.finished.clear()
        try:
            self._run(cancelled)
        finally:
            self.finished.set()

    def _run(self, cancelled: Callable[[], bool]) -> None:
        self._history.clear()
        self._metrics = {}
        self.pending_evals, self._step = (), 0
        self.eval_running = None
        while not self._commands.empty():  # keys pressed for an earlier battle
            self._commands.get_nowait()
        self._set_state(TrainerState.STARTING, "planning the battle")
        try:
            plan = self._plan()
        except RealmError as err:
            self._set_state(TrainerState.IDLE)
            self._log("error", str(err))
            self._post(NotificationRaised(battle_refused(str(err))))
            return
        self.plan = plan
        self._post(QuestBoardChanged(f"{plan.quest_id} is being fought"))
        store = self.game.store
        if plan.hero.id not in store.heroes:
            store.heroes.add(HeroRecord(id=plan.hero.id, name=plan.hero.name))
        conductor = Conductor(
            store,
            self.game.realm,
            plan.hero,
            plan.campaign.id,
            plan.quest_id,
            plan.keeper,
            board_quest=plan.board_quest,
        )
        self._watch = open_watch(conductor, say=lambda text: self._log("error", text))
        for note in plan.notes:  # orphans adopted/removed, damaged checkpoints passed over
            self._log("checkpoint", note)
        start_step = plan.resumed_from.step if plan.resumed_from else 0
        where = f"resuming from {plan.resumed_from.name}" if plan.resumed_from else "from the base hero"
        self._log(
            "event",
            f"{plan.hero.name} enters battle: quest {plan.quest_id}, steps {start_step}→{plan.job.max_steps} ({where})",
        )
        bridge = self.game.options.bridge_factory()
        stopped: Stopped | None = None
        try:
            bridge.start(plan.job)
            self._set_state(TrainerState.STARTING, f"trainer pid {bridge.pid}")
            stopped = self._pump(bridge, conductor, plan, start_step, cancelled)
        except Exception as err:  # never leave the UI thinking a battle runs
            self._log("error", f"battle worker failed: {err}")
            self._post(NotificationRaised(trainer_died(str(err))))
            bridge.kill()
        finally:
            bridge.close(grace=10.0)
            self._watch.close()
            if stopped is None or stopped.reason not in GOOD_ENDINGS:
                reason = stopped.reason if stopped else "lost"
                self._set_state(TrainerState.DEAD, f"battle ended: {reason}")
            else:
                self._set_state(TrainerState.IDLE, f"battle ended: {stopped.reason}")
            self.pending_evals = ()
            self.eval_running = None
            self._post(QuestBoardChanged("battle ended"))

    def _pump(
        self, bridge: BridgeLike, conductor: Conductor, plan: BattlePlan, start_step: int, cancelled: Callable[[], bool]
    ) -> Stopped:
        deadline: float | None = None
        while True:
            if self._step_waiting:
                self._post_step(conductor, plan, start_step)
            if cancelled() and deadline is None:
                bridge.stop("closing")
                self._set_state(TrainerState.STOPPING, "leaving the realm")
                deadline = time.monotonic() + self.game.options.stop_grace_s
            while not self._commands.empty():
                deadline = self._command(bridge, self._commands.get_nowait(), deadline)
            if deadline is not None and time.monotonic() > deadline:
                bridge.kill()
                deadline = time.monotonic() + 3600.0
            for event in bridge.events(timeout=0.1):
                self._apply(event, conductor, plan, start_step)
                for command in conductor.take_commands():  # curriculum changes, re-tests
                    self._send(bridge, command)
                if isinstance(event, Stopped):
                    return event

    def _command(self, bridge: BridgeLike, command: Command | _Kill, deadline: float | None) -> float | None:
        if isinstance(command, _Kill):
            bridge.kill()
            return deadline
        if isinstance(command, Pause) and self.state is TrainerState.TRAINING:
            bridge.send(command)
            self._set_state(TrainerState.PAUSED, "paused at the next step boundary")
        elif isinstance(command, Resume) and self.state is TrainerState.PAUSED:
            bridge.send(command)
            self._set_state(TrainerState.TRAINING, "resumed")
        elif isinstance(command, Stop):
            if self.state is TrainerState.PAUSED:
                bridge.send(Resume())  # a paused loop only listens for Resume/Stop; be explicit
            bridge.send(command)
            self._set_state(TrainerState.STOPPING, "saving a checkpoint, then stopping")
            return deadline if deadline is not None else time.monotonic() + self.game.options.stop_grace_s
        elif not isinstance(command, Pause | Resume):
            self._send(bridge, command)
        return deadline

    def _send(self, bridge: BridgeLike, command: Command) -> None:
        """Send a command; an `Evaluate` stays in `pending_evals` until its `EvalResult` comes."""
        if bridge.send(command) and isinstance(command, Evaluate):
            pending = PendingEval(command.skill, command.level, command.request_id, self._step)
            self.pending_evals = (*self.pending_evals, pending)

    def _answered(self, result: EvalResult) -> None:
        """Drop the oldest pending eval that `result` answers (same skill, level and request id)."""
        for i, p in enumerate(self.pending_evals):
            if (p.skill, p.level, p.request_id) == (result.skill, result.level, result.request_id):
                self.pending_evals = self.pending_evals[:i] + self.pending_evals[i + 1 :]
                return

    def _apply(self, event: Event, conductor: Conductor, plan: BattlePlan, start_step: int) -> None:
        try:
            notes = conductor.apply(event)
        except Exception as err:  # a store problem must not kill the battle: report it, keep reading
            self._log("error", f"could not record {type(event).__name__}: {err}")
            notes = []
        self._watch.on_event(event)
        if isinstance(event, Hello):
            self._log(
                "event", f"trainer pid {event.pid} · torch {event.torch_version} · {event.device} · {event.precision}"
            )
            if self.state is TrainerState.STARTING:
                self._set_state(TrainerState.TRAINING, f"{event.device} {event.precision}")
        elif isinstance(event, Step):
            self._step = event.step
            if self.state is TrainerState.STARTING:
                self._set_state(TrainerState.TRAINING)
            strain = conductor.state.strain.strain
            self._history.append(StepPoint(event.step, event.loss, strain if strain is not None else 0.0))
            self._metrics = dict(event.metrics)
            self._step_waiting = True
            self._post_step(conductor, plan, start_step)
        elif isinstance(event, CheckpointSaved):
            val = f", val {event.val_loss:.4f}" if event.val_loss is not None else ""
            self._log("checkpoint", f"💾 {event.name} at step {event.step}{val}")
            self._post(CheckpointAdded(event.name, event.step))
            self._post_step(conductor, plan, start_step, force=True)
        elif isinstance(event, EvalProgress):
            same = (
                self.eval_running is not None
                and self.eval_running.step == event.step
                and ((self.eval_running.skill, self.eval_running.level) == (event.skill, event.level))
            )
            if not same:
                self.eval_started_at = event.at
            self.eval_running = None if event.cut_short else event
        elif isinstance(event, EvalResult):
            self.eval_running = None
            self._answered(event)
            self._log("eval", f"🎯 eval {event.skill.upper()} L{event.level}: {event.accuracy:.0%} of {event.total}")
        elif isinstance(event, QuestStarted):
            self._log("event", f"⚔ quest {event.quest_id}: {event.examples:,} examples, {event.tokens:,} tokens")
            self._post(QuestBoardChanged(f"{event.quest_id} started"))
        elif isinstance(event, QuestFinishedEvent):
            self._log("event", f"🏁 quest {event.quest_id} finished after {event.steps} steps")
            self._post(QuestFinished(event.quest_id))
        elif isinstance(event, Error):
            self._log("error", event.message.strip().splitlines()[-1] if event.message.strip() else event.kind)
            if event.fatal and event.kind != "crash":
                notes = [*notes, trainer_died_note(event.message)]
        elif isinstance(event, Log) and event.level != "debug":
            self._log("event", event.message)
        elif isinstance(event, Stopped):
            if self._step_waiting:
                self._post_step(conductor, plan, start_step, force=True)
            where = f" at step {event.step}" if event.step >= 0 else ""
            self._log("event", f"■ battle stopped{where} ({event.reason})")
        for note in notes:
            self._post(NotificationRaised(note))
            if note.kind.value == "level_up":
                self._log("level", f"✨ {note.title} {note.body}")

    def _post_step(self, conductor: Conductor, plan: BattlePlan, start_step: int, force: bool = False) -> None:
        """Hand the UI the latest snapshot, at most every `ui_step_interval_s` unless forced."""
        now = time.monotonic()
        if force or now - self._posted_at >= self.game.options.ui_step_interval_s:
            self._posted_at, self._step_waiting = now, False
            self._post(StepUpdate(self.snapshot(conductor, plan, start_step)))

    def snapshot(self, conductor: Conductor, plan: BattlePlan, start_step: int) -> BattleSnapshot:
        s = conductor.state
        return BattleSnapshot(
            hero_id=plan.hero.id,
            campaign_id=plan.campaign.id,
            quest_id=plan.quest_id,
            step=s.step,
            max_steps=s.max_steps or plan.job.max_steps,
            start_step=start_step,
            loss=s.loss,
            loss_ema=s.loss_ema,
            val_loss=s.val_loss,
            lr=s.lr,
            grad_norm=s.grad_norm,
            tokens_per_s=s.tokens_per_s,
            eta_s=s.eta_s,
            strain=s.strain.strain,
            zone=s.zone,
            effort=s.strain.effort,
            hint=s.hint,
            stats=conductor.stats(),
            history=tuple(self._history),
            device=s.device,
            trainer_pid=s.trainer_pid,
            last_checkpoint=s.last_checkpoint,
            metrics=dict(self._metrics),
        )


def trainer_died_note(message: str) -> Notification:
    """A trainer-died notification for a battle that ended in an error (first line of it)."""
    return trainer_died(message.strip().splitlines()[0] if message.strip() else "unknown error")
