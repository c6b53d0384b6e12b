"""The battle as the UI runs it: `battle.session.BattleSession` in the App's worker thread.

`BattleController.run` is the body of the App's `@work(thread=True)` battle worker: the same session
as `realm train --no-ui` (plan, hero record, conductor, bridge, apply, commands, ending), with the
controller as its sink. What the UI needs is posted as small typed messages; commands from the
keyboard arrive through the session's queue, so only the worker thread ever touches the bridge.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from textual.message import Message

from realm_tui.battle.conductor import Conductor
from realm_tui.battle.event_log import EventLogSink
from realm_tui.battle.session import (
    Applied,
    BattleSession,
    BridgeLike,
    CommandQueue,
    Ended,
    Entered,
    Failed,
    Kill,
    PhaseChanged,
    Planned,
    Refused,
    Said,
    Sent,
    SessionEvent,
    SessionTimings,
    Tick,
)
from realm_tui.battle.setup import BattlePlan, plan_battle
from realm_tui.battle.val_text import val_text
from realm_tui.battle.watch import WatchSink
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
    QuestStarted,
    Step,
    StepProgress,
    Stopped,
)
from realm_tui.contract.protocol import QuestFinished as QuestFinishedEvent
from realm_tui.errors import RealmError
from realm_tui.rules.notifications import Notification, battle_refused, trainer_died
from realm_tui.services.requests import BattleRequests
from realm_tui.ui.eval_watch import EvalWatch
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
from realm_tui.ui.save_job import SaveJob
from realm_tui.ui.training_label import planned_sources, training_label

if TYPE_CHECKING:
    from realm_tui.config.realm_config import RealmConfigs
    from realm_tui.paths import RealmPaths
    from realm_tui.store import Store


class BattleOptions(Protocol):
    """The game's settings a battle reads (`ui.game.GameOptions` has them)."""

    @property
    def battle_steps(self) -> int | None: ...
    @property
    def stop_grace_s(self) -> float: ...
    @property
    def bridge_factory(self) -> Callable[[], BridgeLike]: ...
    @property
    def ui_step_interval_s(self) -> float: ...


class BattleHost(Protocol):
    """What the controller needs of the game (`ui.game.Game`), named here so this module does not
    import the game that owns it."""

    @property
    def realm(self) -> RealmPaths: ...
    @property
    def configs(self) -> RealmConfigs: ...
    @property
    def store(self) -> Store: ...
    @property
    def options(self) -> BattleOptions: ...


QUEST_DONE = "skills only"
"""The quest once the battle's quest finished and it trains on the skills alone (the log says so)."""

HISTORY = 600
"""Plotted points kept (every Step event the trainer sends, a few per second)."""

__all__ = ["HISTORY", "BattleController", "BridgeLike"]  # BridgeLike: where `ui.game` finds it


class BattleController:
    """One battle at a time. `run` happens in a worker thread; the other methods in the UI thread.

    The controller is the session's sink in the game: it keeps what the screens read (`state`,
    `plan`, the evals in flight, the plotted history) and posts the rest as messages."""

    following = False
    """True for `ui.battle_follow.FollowedBattle`: the battle runs in another process."""

    def __init__(self, game: BattleHost, post: Callable[[Message], object]) -> None:
        self.game = game
        self._post = post
        self._commands: CommandQueue = queue.SimpleQueue()
        self.state = TrainerState.IDLE
        """Written by the worker; the UI reads it (a plain attribute read is atomic)."""
        self.plan: BattlePlan | None = None
        self._conductor: Conductor | None = None
        self._start_step = 0
        self._history: deque[StepPoint] = deque(maxlen=HISTORY)
        self._metrics: dict[str, float] = {}
        """The latest Step's school metrics (the conductor does not keep them)."""
        self._sources: tuple[str, ...] = ()
        """The latest Step's sources (`Step.mix`): what the battle trains, for the Tavern."""
        self._evals = EvalWatch()
        """Validation losses, accuracies and sample answers of this battle's evals (the plots)."""
        self.pending_evals: tuple[PendingEval, ...] = ()
        """`Evaluate` commands sent and not answered yet (replaced whole; the jobs table reads it)."""
        self.eval_running: EvalProgress | None = None
        """The trainer's eval in flight (its latest progress), None when none runs."""
        self.eval_started_at: float | None = None
        """When the eval in flight began (its first EvalProgress): an eval whose answers all run to
        their budget reports 0/N until its end, so the Jobs row shows its time running instead."""
        self.save = SaveJob()
        self._step = 0
        self._posted_at = 0.0
        self._step_waiting = False
        self._step_part = ""
        """The step in flight's micro-batches (`StepProgress`), until its Step."""
        self.finished = threading.Event()
        """Set while no battle worker runs (the App waits on it before closing the store)."""
        self.finished.set()

    # ------------------------------------------------------------ UI thread

    @property
    def busy(self) -> bool:
        return self.state.busy

    @property
    def training_now(self) -> str | None:
        """What the battle trains (the Tavern's quest line): the latest step's sources, or before
        the first step the plan's quest and skills; None before a battle is planned."""
        plan, conductor = self.plan, self._conductor
        if plan is None:
            return None
        quest = None
        if plan.quest_path is not None:  # the conductor forgets the quest once it is trained
            quest = conductor.state.quest_id if conductor is not None else plan.quest_id
        sources = self._sources or planned_sources(plan.quest_path is not None, plan.job.curriculum)
        return training_label(quest, sources)

    def request(self, command: Command) -> None:
        self._commands.put(command)

    def kill(self) -> None:
        self._commands.put(Kill())

    # ------------------------------------------------------------ worker thread

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
        self._evals.clear()
        self._metrics, self._sources, self.plan, self._conductor = {}, (), None, None
        self.pending_evals, self._step = (), 0
        self.eval_running = self.save.running = None
        while not self._commands.empty():  # keys pressed for an earlier battle
            self._commands.get_nowait()
        game = self.game
        # poll_s as headless: each turn wakes this process beside the trainer; a key waits 0.25 s at most.
        timings = SessionTimings(poll_s=0.25, close_grace_s=10.0, stop_grace_s=game.options.stop_grace_s)
        session = BattleSession(
            game.store,
            game.realm,
            self._plan,
            game.options.bridge_factory,
            [
                self,
                WatchSink(say=lambda text: self._log("error", text)),
                EventLogSink(game.realm, say=lambda text: self._log("error", text)),  # another window follows it
            ],
            commands=self._commands,
            requests=BattleRequests(game.realm),  # writes from other terminals (`realm quest add` …)
            timings=timings,
        )
        with session:
            try:
                session.prepare()
            except RealmError:
                return  # refused: this sink told the player
            with contextlib.suppress(Exception):  # this sink told the player; the UI must go on
                session.fight(cancelled)

    # ------------------------------------------------------------ the session's sink (worker thread)

    def on_event(self, event: SessionEvent) -> None:
        if isinstance(event, Applied):
            self._show(event.event, list(event.notes))
        elif isinstance(event, Tick):
            if self._step_waiting:
                self._post_step()
        elif isinstance(event, PhaseChanged):
            self.state = TrainerState(event.phase.value)
            self._post(TrainerStateChanged(self.state, event.detail))
        elif isinstance(event, Said):
            self._log(event.kind, event.text)
        elif isinstance(event, Sent):
            self._sent(event.command)
        else:
            self._lifecycle(event)

    def close(self) -> None:
        """Nothing to close: the App outlives every battle."""

    def _lifecycle(self, event: SessionEvent) -> None:
        if isinstance(event, Refused):
            self._log("error", str(event.error))
            self._post(NotificationRaised(battle_refused(str(event.error))))
        elif isinstance(event, Planned):
            self.plan = event.plan
            self._post(QuestBoardChanged(f"{event.plan.quest_id} is being fought"))
        elif isinstance(event, Entered):
            plan, start_step = event.plan, event.start_step
            self._conductor, self._start_step = event.conductor, start_step
            for note in plan.notes:  # orphans adopted/removed, damaged checkpoints passed over
                self._log("checkpoint", note)
            where = f"resuming from {plan.resumed_from.name}" if plan.resumed_from else "from the base hero"
            steps = f"steps {start_step}→{plan.job.max_steps}"
            self._log("event", f"{plan.hero.name} enters battle: quest {plan.quest_id}, {steps} ({where})")
        elif isinstance(event, Failed):
            self._log("error", f"battle worker failed: {event.error}")
            self._post(NotificationRaised(trainer_died(str(event.error))))
        elif isinstance(event, Ended):
            self.pending_evals = ()
            self.eval_running = self.save.running = None
            self._post(QuestBoardChanged("battle ended"))

    def _sent(self, command: Command) -> None:
        """An `Evaluate` stays in `pending_evals` until its `EvalResult` comes."""
        if isinstance(command, Evaluate):
            pending = PendingEval(command.skill, command.level, command.request_id, self._step)
            self.pending_evals = (*self.pending_evals, pending)

    def _answered(self, result: EvalResult) -> None:
        """Drop the oldest pending eval that `result` answers (same skill, level and request id)."""
        for i, p in enumerate(self.pending_evals):
            if (p.skill, p.level, p.request_id) == (result.skill, result.level, result.request_id):
                self.pending_evals = self.pending_evals[:i] + self.pending_evals[i + 1 :]
                return

    def _show(self, event: Event, notes: list[Notification]) -> None:
        plotted = self._evals.on_event(event)  # a validation loss, an accuracy, the hero's answers
        self.save.on_event(event)
        if isinstance(event, Hello):
            self._log(
                "event", f"trainer pid {event.pid} · torch {event.torch_version} · {event.device} · {event.precision}"
            )
        elif isinstance(event, Step):
            self._on_step(event)
        elif isinstance(event, StepProgress):  # a long step's micro-batches: the step line moves
            self._step_part = f"{event.done}/{event.total}"
            self._step_waiting = True
            self._post_step()
        elif isinstance(event, CheckpointSaved):
            val = val_text(event)
            self._log("checkpoint", f"💾 {event.name} at step {event.step}{val}")
            self._post(CheckpointAdded(event.name, event.step))
            self._post_step(force=True)
        elif isinstance(event, EvalProgress):
            self._on_eval_progress(event)
        elif isinstance(event, EvalResult):
            self.eval_running = None
            self._answered(event)
            self._log("eval", f"🎯 eval {event.skill.upper()} L{event.level}: {event.accuracy:.0%} of {event.total}")
            if plotted:
                self._post_step(force=True)  # the plots and the hero's answers show it now
        elif isinstance(event, QuestStarted):
            self._log("event", f"⚔ quest {event.quest_id}: {event.examples:,} examples, {event.tokens:,} tokens")
            self._post(QuestBoardChanged(f"{event.quest_id} started"))
        elif isinstance(event, QuestFinishedEvent):
            self._log("event", f"🏁 quest {event.quest_id} finished after {event.steps} steps")
            self._post(QuestFinished(event.quest_id))
        elif isinstance(event, Error):
            self._log("error", event.message.strip().splitlines()[-1] if event.message.strip() else event.kind)
        elif isinstance(event, Log) and event.level != "debug":
            self._log("event", event.message)
        elif isinstance(event, Stopped):
            if self._step_waiting:
                self._post_step(force=True)
            where = f" at step {event.step}" if event.step >= 0 else ""
            self._log("event", f"■ battle stopped{where} ({event.reason})")
        for note in notes:
            self._post(NotificationRaised(note))
            if note.kind.value == "level_up":
                self._log("level", f"✨ {note.title} {note.body}")

    def _on_step(self, event: Step) -> None:
        self._step = event.step
        self._step_part = ""
        assert self._conductor is not None
        strain = self._conductor.state.strain.strain
        self._history.append(StepPoint(event.step, event.loss, strain if strain is not None else 0.0))
        self._metrics = dict(event.metrics)
        self._sources = tuple(event.mix) or self._sources
        self._step_waiting = True
        self._post_step()

    def _on_eval_progress(self, event: EvalProgress) -> None:
        running = self.eval_running
        same = (
            running is not None
            and running.step == event.step
            and ((running.skill, running.level) == (event.skill, event.level))
        )
        if not same:
            self.eval_started_at = event.at
        self.eval_running = None if event.cut_short else event

    def _post_step(self, force: bool = False) -> None:
        """Hand the UI the latest snapshot, at most every `ui_step_interval_s` unless forced."""
        now = time.monotonic()
        if self._conductor is None or self.plan is None:
            return
        if force or now - self._posted_at >= self.game.options.ui_step_interval_s:
            self._posted_at, self._step_waiting = now, False
            self._post(StepUpdate(self.snapshot(self._conductor, self.plan, self._start_step)))

    def snapshot(self, conductor: Conductor, plan: BattlePlan, start_step: int) -> BattleSnapshot:
        s = conductor.state
        return BattleSnapshot(
            hero_id=plan.hero.id,
            campaign_id=plan.campaign.id,
            quest_id=s.quest_id or QUEST_DONE,
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
            evals=self._evals.view(),
            step_part=self._step_part,
        )
