"""The Textual app: wires the screens (one mode each), the global bindings and the trainer bridge.

Workers post typed messages here; the App keeps the small caches the screens read on resume
(trainer state, latest snapshot, log), shows toasts and forwards each message to the active
screen. Everything else lives in the screens and the `Game` services.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from textual import events, work
from textual.app import App, ScreenStackError
from textual.binding import Binding
from textual.screen import Screen
from textual.timer import Timer
from textual.worker import Worker, WorkerState, get_current_worker

from realm_tui.config.settings import Settings, load_settings
from realm_tui.contract.protocol import Pause, Resume, Stop, StopReason
from realm_tui.errors import ConfigError, RealmError
from realm_tui.rules.moments import moment_of
from realm_tui.rules.notifications import Notification, NotificationKind, Severity
from realm_tui.services.requests import apply_idle, waiting
from realm_tui.ui.game import Game, GameOptions
from realm_tui.ui.keys import APP_BINDINGS
from realm_tui.ui.messages import (
    BattleLogged,
    CheckpointAdded,
    NotificationRaised,
    QuestBoardChanged,
    QuestFinished,
    RealmMessage,
    RequestsApplied,
    StepUpdate,
    TaskFinished,
    TrainerStateChanged,
)
from realm_tui.ui.models import LogLine, TrainerState
from realm_tui.ui.moments import MomentShow
from realm_tui.ui.screens.armory import ArmoryScreen
from realm_tui.ui.screens.base import RealmScreen
from realm_tui.ui.screens.battle import BattleScreen
from realm_tui.ui.screens.guild import GuildScreen
from realm_tui.ui.screens.modals import HelpModal, QuitModal
from realm_tui.ui.screens.oracle import OracleScreen
from realm_tui.ui.screens.quests import QuestBoardScreen
from realm_tui.ui.screens.tavern import TavernScreen
from realm_tui.ui.screens.vault import VaultScreen

TOAST_SEVERITY = {
    Severity.INFO: "information",
    Severity.SUCCESS: "information",
    Severity.WARNING: "warning",
    Severity.ERROR: "error",
}
TOAST_TIMEOUT_S = {NotificationKind.BATTLE_REFUSED: 12.0, NotificationKind.TRAINER_DIED: 12.0}
"""Toasts that tell the player what to fix stay longer than the default 8 s."""
SCREEN_CLASSES: tuple[type[RealmScreen], ...] = (
    TavernScreen,
    BattleScreen,
    QuestBoardScreen,
    VaultScreen,
    GuildScreen,
    OracleScreen,
    ArmoryScreen,
)
"""One screen per mode, in the order of `keys.SCREENS` (a test checks they agree)."""


class RealmApp(App[str]):
    """Realm of Training. `run()` returns "headless" when the player chose to keep training."""

    TITLE = "Realm of Training"
    CSS_PATH = "realm.tcss"
    BINDINGS: ClassVar[list[Binding]] = APP_BINDINGS  # type: ignore[assignment]
    MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = {c.MODE: c for c in SCREEN_CLASSES}
    DEFAULT_MODE = "tavern"

    def __init__(self, game: Game) -> None:
        super().__init__()
        self.game = game
        game.connect(self.post_message)
        self._leaving: str | None = None
        self.headless_pid: int | None = None
        self._requests_timer: Timer | None = None
        """The detached `realm train --no-ui` started when the player left to keep training."""
        try:
            settings, self._settings_problem = load_settings(game.realm), ""
        except ConfigError as err:  # a bad settings file costs the player its settings, not the game
            settings, self._settings_problem = Settings(), str(err)
        self.moments = MomentShow(self, settings)
        """Level-ups, champions, mastered levels and maxed-out verdicts as banners (and the bell)."""

    # ------------------------------------------------------------ lifecycle

    def on_mount(self) -> None:
        if self._settings_problem:
            self.notify(self._settings_problem, title="Settings ignored", severity="warning", markup=False)
        for warning in self.game.records.warnings:
            self.notify(warning, title="Store repaired", severity="warning", markup=False)
        if self.game.readonly:
            self.notify(self.game.readonly_reason, title="Read-only", severity="warning", timeout=10, markup=False)
            self.game.follow()  # the battle the other process runs, live on the Tavern and Battle screens
        if self.game.options.inbox_poll_s > 0:
            self.set_interval(self.game.options.inbox_poll_s, self.action_scan_inbox)
        if self.game.options.requests_poll_s > 0 and not self.game.readonly:
            self._requests_timer = self.set_interval(self.game.options.requests_poll_s, self._check_requests)

    def on_unmount(self) -> None:
        battle = self.game.battle
        if not battle.finished.is_set():
            # Leaving some other way than the quit dialog (an error, a signal): still save and
            # record the checkpoint before the store closes.
            battle.request(Stop(reason=StopReason.CLOSING))
            battle.finished.wait(self.game.options.stop_grace_s)
        self.workers.cancel_group(self, "battle")
        self.game.close()  # releases the store lock first: the headless battle needs it
        if self._leaving == "headless":
            self.headless_pid = self.game.options.launch_headless(self.game.realm)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            self.moments.skip()  # any key skips a moment's banner, and still does what it does
        await super().on_event(event)

    # ------------------------------------------------------------ navigation & help

    def action_goto(self, mode: str) -> None:
        if not self.screen.is_modal:
            self.switch_mode(mode)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpModal):
            self.push_screen(HelpModal())

    # ------------------------------------------------------------ battle

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        state = self.game.trainer_state
        if action == "start_battle":
            if self.game.readonly:
                return None  # shown greyed: another process holds the store (the status bar says which)
            return not state.busy
        if action == "pause_battle":
            return state is TrainerState.TRAINING
        if action == "resume_battle":
            return state is TrainerState.PAUSED
        if action == "stop_battle":
            return state.busy and state is not TrainerState.STOPPING
        return True

    def action_start_battle(self) -> None:
        if self.game.trainer_state.busy:
            self.notify("a battle is already running", severity="warning", markup=False)
            return
        if self.game.readonly:
            self.notify(self.game.readonly_reason, title="Cannot start", severity="error", markup=False)
            return
        if any(w.group == "campaign" and not w.is_finished for w in self.workers):
            self.notify("New Game+ is being set up: start the battle in a moment", severity="warning", markup=False)
            return
        try:
            self.game.reload_configs()
        except RealmError as err:
            self.notify(str(err), title="Cannot start", severity="error", timeout=10, markup=False)
            return
        self._set_trainer_state(TrainerState.STARTING, "planning the battle")
        self._run_battle()

    @work(thread=True, exclusive=True, group="battle", exit_on_error=False, name="battle", description="the battle")
    def _run_battle(self) -> None:
        worker = get_current_worker()
        self.game.battle.run(lambda: worker.is_cancelled)

    def action_pause_battle(self) -> None:
        self.game.battle.request(Pause())

    def action_resume_battle(self) -> None:
        self.game.battle.request(Resume())

    def action_stop_battle(self) -> None:
        self.game.battle.request(Stop(reason=StopReason.REQUESTED))

    def _set_trainer_state(self, state: TrainerState, detail: str = "") -> None:
        self.game.trainer_state, self.game.trainer_detail = state, detail
        self.refresh_bindings()
        if self._requests_timer is not None:  # a battle applies requests itself: no wake-ups beside it
            if state.busy:
                self._requests_timer.pause()
            else:
                self._requests_timer.resume()

    # ------------------------------------------------------------ inbox

    def action_scan_inbox(self) -> None:
        if not self.game.readonly:
            self._scan_inbox()

    @work(
        thread=True,
        exclusive=True,
        group="inbox",
        exit_on_error=False,
        name="inbox",
        description="scanning quests/inbox",
    )
    def _scan_inbox(self) -> None:
        moved = self.game.board.scan_inbox()
        if moved:
            self.post_message(QuestBoardChanged(", ".join(moved)))

    # ------------------------------------------------------------ requests from other terminals

    def _check_requests(self) -> None:
        """The store's writer applies what other terminals ask (`realm quest add` …): while a battle
        runs its session does (it also steers the battle); idle, the game does, in a worker."""
        if self.game.trainer_state.busy or any(w.group == "requests" and not w.is_finished for w in self.workers):
            return
        if waiting(self.game.realm):  # one directory listing: cheap enough for the event loop
            self._apply_requests()

    @work(thread=True, group="requests", exit_on_error=False, name="requests", description="applying requests")
    def _apply_requests(self) -> None:
        lines: list[LogLine] = []
        apply_idle(
            self.game.realm,
            self.game.store,
            say=lambda text: lines.append(LogLine("event", text)),
            warn=lambda text: lines.append(LogLine("error", text)),
        )
        if lines:
            self.post_message(RequestsApplied(lines))

    def on_requests_applied(self, message: RequestsApplied) -> None:
        for line in message.lines:
            self.game.log.append(line)
            self._forward(BattleLogged(line))
        screen = self._realm_screen()
        if screen is not None:
            screen.refresh_view()  # whatever it shows may have changed (a quest, a checkpoint)

    # ------------------------------------------------------------ worker messages

    def _realm_screen(self) -> RealmScreen | None:
        # While the app shuts down its screen stack is empty, and a trainer message can still arrive.
        try:
            screen = self.screen
        except ScreenStackError:
            return None
        return screen if isinstance(screen, RealmScreen) else None

    def _forward(self, message: RealmMessage) -> None:
        screen = self._realm_screen()
        if screen is not None:
            screen.post_message(message.forward())

    def on_step_update(self, message: StepUpdate) -> None:
        self.game.live = message.snapshot
        self._forward(message)

    def on_trainer_state_changed(self, message: TrainerStateChanged) -> None:
        self._set_trainer_state(message.state, message.detail)
        self._forward(message)
        if self._leaving and not message.state.busy:
            self.exit(self._leaving)

    def on_checkpoint_added(self, message: CheckpointAdded) -> None:
        self._forward(message)

    def on_battle_logged(self, message: BattleLogged) -> None:
        self.game.log.append(message.line)
        self._forward(message)

    def on_notification_raised(self, message: NotificationRaised) -> None:
        self.show_notification(message.notification)
        self._forward(message)

    def show_notification(self, note: Notification) -> None:
        timeout = TOAST_TIMEOUT_S.get(note.kind, 8.0)
        self.notify(note.body, title=note.title, severity=TOAST_SEVERITY[note.severity], timeout=timeout)  # type: ignore[arg-type]
        line = LogLine("note", f"{note.title}: {note.body}")
        self.game.log.append(line)
        self._forward(BattleLogged(line))  # the live battle log (and the tavern's) shows it at once
        moment = moment_of(note)
        if moment is not None:
            self.moments.show(moment)

    def on_quest_finished(self, message: QuestFinished) -> None:
        # The conductor had the board mark it done (its file is in quests/done/ now).
        self._forward(QuestBoardChanged(f"{message.quest_id} done"))

    def on_quest_board_changed(self, message: QuestBoardChanged) -> None:
        self._forward(message)

    def on_task_finished(self, message: TaskFinished) -> None:
        self._forward(message)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """One place for worker failures (harlequin's pattern): a toast and a log line."""
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            error = event.worker.error
            text = f"{event.worker.name or 'a task'} failed: {type(error).__name__}: {error}"
            self.notify(text, title="Something went wrong", severity="error", timeout=10, markup=False)
            self.game.log.append(LogLine("error", text))
            if event.worker.group == "battle":
                self._set_trainer_state(TrainerState.DEAD, text)

    # ------------------------------------------------------------ leaving

    async def action_quit(self) -> None:
        state = self.game.trainer_state
        if not state.busy or self.game.battle.following:  # a followed battle goes on without this window
            self.exit("")
            return
        if isinstance(self.screen, QuitModal):
            return
        plan = self.game.battle.plan
        step = self.game.live.step if self.game.live else 0

        def chosen(choice: str | None) -> None:
            if choice in ("stop", "headless"):
                self._leave(choice)

        self.push_screen(QuitModal(plan.quest_id if plan else "?", step), chosen)

    def _leave(self, how: str) -> None:
        self._leaving = how
        if how == "headless":
            self.notify(
                "Saving a checkpoint; the battle then continues headless.", title="Leaving", timeout=30, markup=False
            )
        else:
            self.notify("Saving a checkpoint, then leaving.", title="Leaving", timeout=30, markup=False)
        if self.game.trainer_state.busy:
            if self.game.trainer_state is not TrainerState.STOPPING:
                self.action_stop_battle()
        else:
            self.exit(how)


def create_app(realm_root: Path | str, options: GameOptions | None = None) -> RealmApp:
    """The one factory for the CLI and the tests (posting's pattern)."""
    from realm_tui.paths import RealmPaths

    return RealmApp(Game.open(RealmPaths(Path(realm_root).resolve()), options))
