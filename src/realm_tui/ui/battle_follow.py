"""A battle another process runs, shown live in a read-only game (issue 15, point 3).

`FollowedBattle` is the game's `BattleController` when the store is held by another process: a
thread reads the battle's event log (`services.battle_follow.BattleFollower`) and turns its records
into the same messages the game's own battles post (`StepUpdate`, `TrainerStateChanged`,
`BattleLogged`, …), so the Tavern and the Battle screen show it as they show their own. Pause,
resume and stop go to the battle's parent as requests (`services.battle_follow.steer`).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

from textual.message import Message

from realm_tui.battle.event_log import Record, event_from_dict
from realm_tui.contract.protocol import Command, Pause, Resume, Step, Stop
from realm_tui.errors import RealmError
from realm_tui.rules import HeroStats
from realm_tui.rules.notifications import Notification, NotificationKind, Severity
from realm_tui.services.battle_follow import BattleFollower, steer
from realm_tui.ui.battle_runner import BattleController, BattleHost
from realm_tui.ui.messages import NotificationRaised, QuestBoardChanged, StepUpdate, TrainerStateChanged
from realm_tui.ui.models import BattleSnapshot, PendingEval, StepPoint, TrainerState

FOLLOW_POLL_S = 0.25
"""How often the log is read (the battle flushes every line at once)."""
NO_STATS = HeroStats(xp=0, level=0, xp_into_level=0, xp_for_next=0, atk=0, defense=0, acc=0.0, gold=0)
VERBS = {Pause: "battle.pause", Resume: "battle.resume", Stop: "battle.stop"}


def _notice(title: str, body: str, severity: Severity = Severity.INFO) -> Notification:
    return Notification(NotificationKind.BATTLE_REFUSED, title, body, severity)


class FollowedBattle(BattleController):
    """The battle of another process, followed from its event log; never the store's writer."""

    following = True

    def __init__(
        self, game: BattleHost, post: Callable[[Message], object], follower: BattleFollower | None = None
    ) -> None:
        super().__init__(game, post)
        self.follower = follower or BattleFollower(game.realm)
        self._entered: Record | None = None
        self._state: dict[str, Any] = {}
        self._stats = NO_STATS
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ UI thread

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._follow, name="follow-battle", daemon=True)
            self._thread.start()

    def stop_following(self) -> None:
        self._halt.set()
        if self._thread is not None:
            self._thread.join(2.0)

    def request(self, command: Command) -> None:
        """Pause, resume and stop go to the battle's parent; the answer comes back as a notice."""
        verb = VERBS.get(type(command))
        if verb is not None:
            threading.Thread(target=self._steer, args=(verb,), name="steer-battle", daemon=True).start()

    def kill(self) -> None:
        """The trainer is another process's child: this window does not kill it."""

    def _steer(self, verb: str) -> None:
        try:
            answer = steer(self.game.realm, verb)
        except Exception as err:  # the request path's own failures too: a notice, never a dead thread
            text = str(err) if isinstance(err, RealmError) else f"{verb} failed: {type(err).__name__}: {err}"
            self._log("error", text)
            self._post(NotificationRaised(_notice("Battle in another window", text, Severity.WARNING)))
            return
        self._log("event", answer)

    # ------------------------------------------------------------ the follow thread

    def _follow(self) -> None:
        while not self._halt.is_set():
            try:
                records = self.follower.poll()
            except OSError as err:
                self._log("error", f"following the battle log failed: {err}")
                records = []
            for record in records:
                try:
                    self._apply(record)
                except (KeyError, ValueError, TypeError) as err:  # a damaged line: skipped, said
                    self._log("error", f"battle log line skipped ({type(err).__name__}: {err})")
            if self._step_waiting:
                self._post_step()
            if not records:
                self._halt.wait(FOLLOW_POLL_S)

    def _apply(self, record: Record) -> None:
        kind = record.get("kind")
        if kind == "entered":
            self._entered_battle(record)
        elif kind == "phase":
            self.state = TrainerState(str(record.get("phase", "training")))
            self._post(TrainerStateChanged(self.state, str(record.get("detail", ""))))
        elif kind == "said":
            self._log(str(record.get("say_kind", "event")), str(record.get("text", "")))
        elif kind == "sent":
            pending = PendingEval(str(record["skill"]), int(record["level"]), str(record["request_id"]), self._step)
            self.pending_evals = (*self.pending_evals, pending)
        elif kind == "event":
            self._event(record)
        elif kind == "ended":
            self._ended(record)

    def _entered_battle(self, record: Record) -> None:
        self._entered = record
        if record.get("part", 0):
            return  # the log rolled over to its next part: the same battle goes on
        self._history.clear()
        self._evals.clear()
        self._state, self._metrics, self._stats = {}, {}, NO_STATS
        self.pending_evals, self.eval_running, self._step = (), None, int(record.get("start_step", 0))
        self.save.running = None
        quest, steps = record.get("quest_id"), f"steps {record.get('start_step')}→{record.get('max_steps')}"
        who = f"process {record.get('pid')}"
        self._log("event", f"following the battle of {who}: {record.get('hero_name')}, quest {quest}, {steps}")
        self._post(QuestBoardChanged(f"{quest} is being fought in another window"))

    def _event(self, record: Record) -> None:
        state = record.get("state")
        if isinstance(state, dict):
            self._state.update(state)
            stats = state.get("stats")
            if isinstance(stats, dict):
                with contextlib.suppress(TypeError):  # another version's stats: keep the last ones
                    self._stats = HeroStats(**stats)
        event = event_from_dict(record.get("event") or {})
        if event is None:
            return
        notes = [
            Notification(NotificationKind(n["kind"]), n["title"], n["body"], Severity(n["severity"]))
            for n in record.get("notes", [])
            if isinstance(n, dict)
        ]
        self._show(event, notes)

    def _ended(self, record: Record) -> None:
        self.state = TrainerState.IDLE
        self.pending_evals, self.eval_running, self.save.running = (), None, None
        if record.get("lost"):
            body = "The battle's process is gone without a word (killed?): reopen realm to play."
        else:
            where = f" at step {record['step']}" if record.get("step") is not None else ""
            body = f"The battle in the other window ended{where} ({record.get('reason')}): reopen realm to play."
        if self._step_waiting:
            self._post_step(force=True)
        self._post(TrainerStateChanged(TrainerState.IDLE, "the battle in another window ended"))
        self._log("event", body)
        self._post(NotificationRaised(_notice("Battle over", body)))
        self._post(QuestBoardChanged("the battle in another window ended"))

    # ------------------------------------------------------------ BattleController's step, without a conductor

    def _on_step(self, event: Step) -> None:
        self._step = event.step
        self._step_part = ""  # the step in flight's micro-batches end with it, as in a live battle
        strain = self._state.get("strain")
        self._history.append(StepPoint(event.step, event.loss, float(strain) if strain is not None else 0.0))
        self._metrics = dict(event.metrics)
        self._step_waiting = True

    def _post_step(self, force: bool = False) -> None:
        now = time.monotonic()
        if self._entered is None:
            return
        if force or now - self._posted_at >= self.game.options.ui_step_interval_s:
            self._posted_at, self._step_waiting = now, False
            self._post(StepUpdate(self.followed_snapshot()))

    def followed_snapshot(self) -> BattleSnapshot:
        entered, s = self._entered or {}, self._state

        def num(key: str, default: float = 0.0) -> float:
            value = s.get(key)
            return float(value) if isinstance(value, int | float) else default

        def maybe(key: str) -> float | None:
            value = s.get(key)
            return float(value) if isinstance(value, int | float) else None

        return BattleSnapshot(
            hero_id=str(entered.get("hero_id", "")),
            campaign_id=str(entered.get("campaign_id", "")),
            quest_id=str(entered.get("quest_id", "")),
            step=int(s.get("step", self._step) or self._step),
            max_steps=int(s.get("max_steps") or entered.get("max_steps") or 0),
            start_step=int(entered.get("start_step", 0)),
            loss=maybe("loss"),
            loss_ema=maybe("loss_ema"),
            val_loss=maybe("val_loss"),
            lr=num("lr"),
            grad_norm=num("grad_norm"),
            tokens_per_s=num("tokens_per_s"),
            eta_s=num("eta_s"),
            strain=maybe("strain"),
            zone=s.get("zone"),
            effort=num("effort"),
            hint=str(s.get("hint", "continue")),
            stats=self._stats,
            history=tuple(self._history),
            device=str(s.get("device", "")),
            trainer_pid=s.get("trainer_pid"),
            last_checkpoint=s.get("last_checkpoint"),
            metrics=dict(self._metrics),
            evals=self._evals.view(),
            step_part=self._step_part,
        )
