"""The Battle screen: live loss (train and validation), accuracy and strain plots, readouts, the
hero's latest answers, the battle log and jobs in flight."""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.coordinate import Coordinate
from textual.widgets import DataTable

from realm_tui.battle.plain_render import save_part
from realm_tui.services.hero_answers import accuracy_points, latest_answers
from realm_tui.ui.lore_text import attach_lore
from realm_tui.ui.messages import BattleLogged, CheckpointAdded, StepUpdate, TrainerStateChanged
from realm_tui.ui.models import BattleSnapshot, PendingEval, format_duration
from realm_tui.ui.screens.base import RealmScreen
from realm_tui.ui.widgets.answers import AnswersPanel
from realm_tui.ui.widgets.battle import BattleLog, Readouts, StrainPlot, loss_points, strain_points
from realm_tui.ui.widgets.eval_plots import AccuracyPlot, LossPlot
from realm_tui.ui.widgets.hardware import HardwarePanel

DETAIL = 28
"""Widest detail cell: the jobs table fits beside the log at 100 columns without scrolling sideways."""


def clip(text: str, width: int = 12) -> str:
    """`text`, cut to `width` characters with an ellipsis."""
    return text if len(text) <= width else text[: width - 1] + "…"


def trainer_detail(quest_id: str, eta: str) -> str:
    """`quest · ETA eta` within DETAIL columns. The quest's name has the room (the last step is on
    the step line and the status bar: `step 609/1000`); only a name longer than what is left
    gives way, never the ETA (a slow machine's longer ETA must not push the row past the table's
    width)."""
    tail = f" · ETA {eta}"
    return clip(quest_id, max(4, DETAIL - len(tail))) + tail


class BattleScreen(RealmScreen):
    MODE = "battle"

    def compose_body(self) -> ComposeResult:
        interval = self.game.options.plot_interval_s
        with Vertical(id="battle"):
            with Horizontal(id="plots"):
                yield LossPlot("loss (train, val)", interval=interval, id="loss-plot", classes="panel")
                yield AccuracyPlot("accuracy per skill", interval=interval, id="accuracy-plot", classes="panel")
                yield StrainPlot("strain (zones .1 .3 .5)", interval=interval, id="strain-plot", classes="panel")
            yield Readouts(id="readouts", classes="panel")
            yield HardwarePanel(self.game.options.read_hardware, id="hardware", classes="panel")
            yield AnswersPanel(id="answers", classes="panel")
            with Horizontal(id="battle-bottom"):
                yield BattleLog(id="battle-log", classes="panel")
                yield attach_lore(
                    DataTable(id="jobs", classes="panel", cursor_type="none", zebra_stripes=False), "job", "eval"
                )

    def on_mount(self) -> None:
        self.query_one("#battle-log").border_title = "Battle log"
        self.query_one("#readouts").border_title = "Readouts"
        self.query_one("#answers").border_title = "The hero's answers (wrong first)"
        jobs = self.query_one("#jobs", DataTable)
        jobs.border_title = "Jobs in flight"
        jobs.add_columns("job", "state", "detail")
        self._jobs_shown: list[tuple[str, str, str]] = []
        self._evals_shown: tuple[PendingEval, ...] = ()
        self.set_interval(self.game.options.jobs_interval_s, self._refresh_jobs)

    def refresh_view(self) -> None:
        game = self.game
        self._show_snapshot(game.live, force=True)
        self.query_one(BattleLog).show_all(list(game.log))
        self._refresh_jobs()

    def _show_snapshot(self, snapshot: BattleSnapshot | None, force: bool = False) -> None:
        busy = self.game.trainer_state.busy
        self.query_one(Readouts).show(snapshot, busy)
        if snapshot is not None and snapshot.history:
            loss, strain = loss_points(snapshot.history), strain_points(snapshot.history)
            evals = snapshot.evals  # this battle's validations and evals
            val, accuracy, answers = evals.val, list(evals.accuracy), list(evals.answers)
        else:
            # Between battles the losses come from the ledger and the evals from the store; strain is
            # measured live against the level's comfort floor (rules.strain), which saved checkpoints
            # do not record: none shown.
            records = self.game.records
            loss, val, strain = records.loss_points(), tuple(records.val_loss_points()), []
            stored = records.progress().evals
            accuracy, answers = accuracy_points(stored), latest_answers(stored)
        self.query_one("#loss-plot", LossPlot).show([("train", loss), ("val", val)], force=force)
        self.query_one("#accuracy-plot", AccuracyPlot).show(accuracy, force=force)
        self.query_one("#strain-plot", StrainPlot).show(strain, force=force)
        self.query_one(AnswersPanel).show(answers)

    def _refresh_jobs(self) -> None:
        if not self.is_current:
            return
        game = self.game
        plan, live = game.battle.plan, game.live
        self._evals_shown = game.battle.pending_evals
        rows: list[tuple[str, str, str]] = []
        if game.trainer_state.busy and plan is not None:
            eta = format_duration(live.eta_s) if live is not None else "—"
            quest = live.quest_id if live is not None else plan.quest_id
            rows.append(("trainer", game.trainer_state.value, trainer_detail(quest, eta)))
        elif game.trainer_state.busy and live is not None:  # followed: the battle runs in another window
            detail = trainer_detail(live.quest_id, format_duration(live.eta_s))
            rows.append(("trainer", game.trainer_state.value, detail))
        else:
            rows.append(("trainer", game.trainer_state.value, "press s to start a battle"))
        running = game.battle.eval_running
        if running is not None:  # the trainer is answering an eval now (training waits for it)
            if running.eta_s is not None:
                eta = f" · ETA {format_duration(running.eta_s)}"
            else:  # nothing answered yet: its time running is what moves
                began = game.battle.eval_started_at
                eta = f" · {format_duration(time.time() - began)} in" if began is not None else ""
            rows.append(
                ("eval", "running", f"{running.skill.upper()} L{running.level} {running.done}/{running.total}{eta}")
            )
        saving, began = game.battle.save.running, game.battle.save.started_at
        if saving is not None:  # a checkpoint being saved: its val pass, then its writes
            since = f" · {format_duration(time.time() - began)}" if began is not None else ""
            rows.append(("save", "running", clip(f"{save_part(saving)}{since}", DETAIL)))
        for pending in self._evals_shown:  # re-tests the conductor asked the trainer for
            why = "re-test" if pending.request_id == "retest" else "eval"
            rows.append(("eval", "queued", f"{why} {pending.label} · asked at {pending.step}"))
        if game.oracle.alive:
            # A resident child: "ready" between answers (its answer is the "oracle" worker's row).
            loaded = game.oracle.loaded
            rows.append(("oracle", "ready" if loaded else "loading", loaded.label if loaded else "starting"))
        for worker in self.app.workers:
            if worker.group != "battle" and not worker.is_finished:
                rows.append((worker.name or worker.group, worker.state.name.lower(), clip(worker.description, DETAIL)))
        self._show_jobs(rows)

    def _show_jobs(self, rows: list[tuple[str, str, str]]) -> None:
        """The jobs table shows `rows`: unchanged, nothing; the same jobs with a detail moved (the
        trainer's ETA, every refresh), those cells only; otherwise the table anew. Clearing and
        refilling it every two seconds redrew the whole table beside the trainer."""
        shown, self._jobs_shown = self._jobs_shown, rows
        if rows == shown:
            return
        table = self.query_one("#jobs", DataTable)
        if len(rows) == len(shown) and all(new[:2] == old[:2] for new, old in zip(rows, shown, strict=True)):
            for r, (new, old) in enumerate(zip(rows, shown, strict=True)):
                for c, (value, was) in enumerate(zip(new, old, strict=True)):
                    if value != was:
                        table.update_cell_at(Coordinate(r, c), value, update_width=True)
            return
        table.clear()
        for row in rows:
            table.add_row(*row)

    # ------------------------------------------------------------ forwarded messages

    def on_step_update(self, message: StepUpdate) -> None:
        self._show_snapshot(message.snapshot)
        if self.game.battle.pending_evals != self._evals_shown:  # an eval was asked for or answered
            self._refresh_jobs()

    def on_checkpoint_added(self, message: CheckpointAdded) -> None:
        self._refresh_jobs()

    def on_trainer_state_changed(self, message: TrainerStateChanged) -> None:
        self._show_snapshot(self.game.live, force=True)
        self._refresh_jobs()

    def on_battle_logged(self, message: BattleLogged) -> None:
        self.query_one(BattleLog).add(message.line)
