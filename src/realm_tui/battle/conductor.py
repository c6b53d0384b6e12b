"""Parent side of a battle: turns trainer events into store records, game stats and notifications.

The conductor is the only writer of the store during a battle. It writes on commits
(checkpoints, quests, stops, achievements) and at most every `STEP_FLUSH_S` for progress,
never on every step.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from realm_tui.battle.checkpoint_health import damaged_by_error
from realm_tui.battle.progression import ProgressionKeeper, with_gold
from realm_tui.battle.retention import Kept, select_for_deletion
from realm_tui.config.hero import HeroConfig
from realm_tui.confine import checkpoint_folder
from realm_tui.contract.manifest import is_valid_checkpoint
from realm_tui.contract.protocol import (
    CheckpointSaved,
    Command,
    Error,
    ErrorKind,
    EvalResult,
    Evaluate,
    Event,
    Hello,
    QuestFinished,
    QuestStarted,
    SetCurriculum,
    Step,
    Stop,
    Stopped,
    StopReason,
)
from realm_tui.errors import InputError
from realm_tui.paths import RealmPaths
from realm_tui.quests.board import board_for
from realm_tui.rules import AchievementContext, HeroStats, StrainState, compute_stats, ema, new_achievements
from realm_tui.rules.notifications import (
    Notification,
    achievement_unlocked,
    level_up,
    quest_complete,
    trainer_died,
)
from realm_tui.rules.rewards import GOLD_PER_QUEST, hero_level, levels_gained
from realm_tui.rules.strain import (
    comfort_floor,
    gated_hint,
    skills_ready,
    split_effort,
    update_strain,
    zone_for,
)
from realm_tui.store import AchievementRecord, CheckpointRecord, EventRecord, QuestRecord, Store

STEP_FLUSH_S = 30.0
"""Progress (current step) is written to the store at most this often between commits."""
LOSS_EMA_ALPHA = 0.1
EVENTS_KEPT = 2000


@dataclass
class BattleState:
    """What the UI and the headless renderer show about the running battle."""

    step: int = 0
    max_steps: int = 0
    loss: float | None = None
    loss_ema: float | None = None
    val_loss: float | None = None
    lr: float = 0.0
    grad_norm: float = 0.0
    tokens_per_s: float = 0.0
    eta_s: float = 0.0
    strain: StrainState = field(default_factory=StrainState)
    floor: float = 0.0
    """The comfort loss strain is measured from: the loss EMA at the latest level-up (`comfort_floor`)."""
    quest_progress: float | None = None
    """Share of the quest's passes trained (None: no quest); the quest is done only at 1."""
    quest_id: str | None = None
    """The quest being fought now: the plan's, then each `QuestStarted`; None once it finished and
    the battle goes on with the skills alone."""
    hint: str = "continue"
    """The curriculum hint (`rules.strain.gated_hint`): never *level up* below the skills' thresholds."""
    last_checkpoint: str | None = None
    stopped: Stopped | None = None
    trainer_pid: int | None = None
    device: str = ""

    @property
    def zone(self) -> str | None:
        return zone_for(self.strain.strain).value if self.strain.strain is not None else None


class Conductor:
    """Applies one battle's events to the store; returns notifications for each event."""

    def __init__(
        self,
        store: Store,
        realm: RealmPaths,
        hero: HeroConfig,
        campaign_id: str,
        quest_id: str,
        keeper: ProgressionKeeper | None = None,
        board_quest: bool = False,
    ) -> None:
        self.store = store
        self.keeper = keeper
        self.outbox: list[Command] = []
        """Commands for the trainer decided while applying events (curriculum changes, re-tests)."""
        self.realm = realm
        self.hero = hero
        self.campaign_id = campaign_id
        self.quest_id = quest_id
        self.board = board_for(realm, store, hero) if board_quest else None
        """The quest board, when the quest came from it (it then owns the quest's state)."""
        self.state = BattleState(quest_id=quest_id)
        campaign = store.campaigns.require(campaign_id)
        self.state.step = campaign.current_step
        self._last_flush = time.monotonic()
        self._unlocked = {a.id for a in store.achievements.for_campaign(campaign_id)}
        latest = store.ledger.latest(campaign_id)
        self.state.val_loss = latest.val_loss if latest else None
        self._effort_at_checkpoint = 0.0
        self._skill_effort: dict[str, float] = {}
        """Effort per skill (`rules.strain.split_effort`) not yet written to the campaign."""
        self._ready = False
        """Whether every trained skill's latest accuracy reached its threshold (gates the hint)."""
        if keeper is not None:
            self.state.floor = comfort_floor(keeper.mastery_losses())
            self._ready = skills_ready(keeper.accuracy_at(self.state.step), keeper.thresholds())
        self._bad_input: str | None = None
        """The message of a fatal `bad_input` error of the trainer (the battle then stops)."""

    def take_commands(self) -> list[Command]:
        """Commands to send to the trainer now (the runner calls this after `apply`)."""
        out, self.outbox = self.outbox, []
        return out

    # ------------------------------------------------------------ stats

    def stats(self) -> HeroStats:
        campaign = self.store.campaigns.require(self.campaign_id)
        return compute_stats(
            steps=self.state.step,
            train_loss_ema=self.state.loss_ema,
            val_loss=self.state.val_loss,
            latest_accuracy_by_skill=self.keeper.accuracy_at(self.state.step) if self.keeper else {},
            quests_completed=campaign.quests_completed,
            skill_levels_gained=levels_gained(campaign.transitions),
            steps_per_level=self.hero.steps_per_level,
        )

    # ------------------------------------------------------------ events

    def apply(self, event: Event) -> list[Notification]:
        if isinstance(event, Hello):
            self.state.trainer_pid = event.pid
            self.state.device = f"{event.device} {event.precision}"
            return []
        if isinstance(event, Step):
            return self._on_step(event)
        if isinstance(event, CheckpointSaved):
            return self._on_checkpoint(event)
        if isinstance(event, EvalResult):
            return self._on_eval(event)
        if isinstance(event, QuestStarted):
            self.state.quest_id = event.quest_id
            self._on_quest_started(event)
            return []
        if isinstance(event, QuestFinished):
            if self.state.quest_id == event.quest_id:
                self.state.quest_id = None
            return self._on_quest_finished(event)
        if isinstance(event, Error):
            self._log_event("error", {"message": event.message, "kind": event.kind, "fatal": event.fatal})
            if event.fatal and event.kind is ErrorKind.BAD_INPUT:
                self._bad_input = event.message
                # A checkpoint the trainer cannot use (e.g. trainer_state.pt refused by weights_only):
                # marked damaged, so the next battle falls back to the newest good one.
                damaged_by_error(self.store, self.realm, self.campaign_id, event.message)
            died = trainer_died_of(event)
            return [died] if died is not None else []
        if isinstance(event, Stopped):
            self._on_stopped(event)
        return []

    def _on_step(self, event: Step) -> list[Notification]:
        s = self.state
        old_level = self._hero_level()
        if self.keeper is not None and event.step > s.step:
            self.keeper.record_steps(event.step, event.step - s.step)
        s.step, s.max_steps = event.step, event.max_steps
        s.loss, s.lr, s.grad_norm = event.loss, event.lr, event.grad_norm
        s.tokens_per_s, s.eta_s = event.tokens_per_s, event.eta_s
        s.quest_progress = event.quest_progress
        s.loss_ema = ema(s.loss_ema, event.loss, LOSS_EMA_ALPHA)
        before = s.strain.effort
        s.strain = update_strain(s.strain, event.loss, s.floor)
        skills = {source for source in event.mix if source != "quest" and not source.startswith("module:")}
        for skill, effort in split_effort(s.strain.effort - before, event.mix, skills).items():
            self._skill_effort[skill] = self._skill_effort.get(skill, 0.0) + effort
        s.hint = gated_hint(s.strain, self._ready).value
        notes: list[Notification] = []
        note = level_up(old_level, self._hero_level())
        if note is not None:
            notes.append(note)
            self._log_event("level_up", {"level": self._hero_level(), "step": event.step})
        if note is not None or time.monotonic() - self._last_flush >= STEP_FLUSH_S:
            self._flush_progress()
        notes += self._check_achievements()
        return notes

    def _flush_progress(self) -> None:
        campaign = self.store.campaigns.require(self.campaign_id)
        effort = dict(campaign.effort)  # the campaign's effort per skill, this battle's added since the last flush
        for skill, added in self._skill_effort.items():
            effort[skill] = effort.get(skill, 0.0) + added
        self._skill_effort = {}
        self.store.campaigns.update(
            self.campaign_id, current_step=self.state.step, effort=effort, updated_at=time.time()
        )
        self._last_flush = time.monotonic()

    def _on_checkpoint(self, event: CheckpointSaved) -> list[Notification]:
        folder = Path(event.path)
        if not is_valid_checkpoint(folder):
            # Never commit a checkpoint that does not verify: the ledger only holds usable ones.
            self._log_event("checkpoint_rejected", {"path": event.path})
            return []
        try:
            relative = folder.resolve().relative_to(self.realm.root)
        except ValueError:
            relative = folder
        campaign = self.store.campaigns.require(self.campaign_id)
        self.store.ledger.upsert(
            CheckpointRecord(
                name=event.name,
                campaign_id=self.campaign_id,
                hero_id=self.hero.id,
                step=event.step,
                created_at=event.at,
                path=relative.as_posix(),
                train_loss=event.train_loss,
                val_loss=event.val_loss,
                lr=event.lr,
                quest_id=event.quest_id or self.quest_id,
                skill_levels=dict(campaign.skill_levels),
                size_bytes=event.size_bytes,
                adapter=event.adapter,
                notes=dict(event.notes),
                training_path=campaign.training_path,  # the path this battle follows (battle.path_choice)
            )
        )
        self.state.last_checkpoint = event.name
        if event.val_loss is not None:
            self.state.val_loss = event.val_loss
        self._flush_progress()
        notes: list[Notification] = []
        if self.keeper is not None:
            record = self.store.ledger.require(event.name)
            effort = self.state.strain.effort - self._effort_at_checkpoint
            notes += self.keeper.bless_checkpoint(record, effort=effort, verified=True)
            for note in notes:
                self._log_event(note.kind.value, {"title": note.title, "body": note.body})
        self._effort_at_checkpoint = self.state.strain.effort
        self._apply_retention()
        return notes + self._check_achievements()

    def _on_eval(self, event: EvalResult) -> list[Notification]:
        if self.keeper is None:
            return []
        outcome = self.keeper.on_eval(event, effort=self.state.strain.effort, loss=self.state.loss_ema)
        # A level-up moves the floor to the loss it was mastered at; any eval can change readiness.
        self.state.floor = comfort_floor(self.keeper.mastery_losses())
        self._ready = skills_ready(self.keeper.accuracy_at(max(0, event.step)), self.keeper.thresholds())
        for note in outcome.notifications:
            self._log_event(note.kind.value, {"title": note.title, "body": note.body, "step": event.step})
        if outcome.curriculum_changed:
            self.outbox.append(SetCurriculum(self.keeper.curriculum_payload()))
        self.outbox += [Evaluate(skill, level, request_id="retest") for skill, level in outcome.retests]
        if outcome.plateau is not None:  # `--stop-when plateau`: a checkpoint, then the battle ends
            self.outbox.append(Stop(reason=StopReason.PLATEAU))
        return outcome.notifications + self._check_achievements()

    def _apply_retention(self) -> None:
        records = self.store.ledger.by_campaign(self.campaign_id)
        doomed = select_for_deletion(
            (Kept(r.name, r.step, r.created_at, r.champion) for r in records),
            keep_last=self.hero.retention.keep_last,
            keep_daily=self.hero.retention.keep_daily,
        )
        by_name = {r.name: r for r in records}
        for name in doomed:
            try:  # a path leading out of the checkpoints folder is never deleted
                folder: Path | None = checkpoint_folder(self.realm, by_name[name].path)
            except InputError as err:
                folder = None
                self._log_event("checkpoint_path_refused", {"checkpoint": name, "problem": str(err)})
            # Record first: a crash in between leaves an orphan folder, never a dangling record.
            self.store.ledger.remove(name)
            if folder is not None and not folder.is_symlink():
                shutil.rmtree(folder, ignore_errors=True)

    def _on_quest_started(self, event: QuestStarted) -> None:
        if self.board is not None:
            return  # the board marked it processing when the battle was planned
        existing = self.store.quests.get(event.quest_id)
        path = event.paths[0] if event.paths else ""
        record = existing or QuestRecord(id=event.quest_id, path=_relative(path, self.realm.root))
        self.store.quests.upsert(
            record.model_copy(
                update={
                    "state": "processing",
                    "attempts": record.attempts + 1,
                    "updated_at": time.time(),
                    "report": {**record.report, "examples": event.examples, "tokens": event.tokens},
                }
            )
        )

    def _on_quest_finished(self, event: QuestFinished) -> list[Notification]:
        if self.board is not None:
            self.board.mark_done(event.quest_id, report={"steps": event.steps, "final_loss": event.final_loss})
        elif event.quest_id in self.store.quests:
            self.store.quests.update(event.quest_id, state="done", updated_at=time.time())
        campaign = self.store.campaigns.require(self.campaign_id)
        self.store.campaigns.update(
            self.campaign_id,
            **with_gold(campaign, quests_completed=campaign.quests_completed + 1, updated_at=time.time()),
        )
        self._log_event("quest_complete", {"quest": event.quest_id, "steps": event.steps})
        return [quest_complete(event.quest_id, GOLD_PER_QUEST), *self._check_achievements()]

    def _on_stopped(self, event: Stopped) -> None:
        self.state.stopped = event
        self._note_quest_progress()
        if self.board is not None:
            self._settle_board_quest(event.reason)
        # XP is what a resume can continue from: the last committed checkpoint's step.
        latest = self.store.ledger.latest(self.campaign_id)
        step = latest.step if latest else 0
        self.store.campaigns.update(self.campaign_id, current_step=step, updated_at=time.time())
        self._log_event("stopped", {"reason": event.reason, "step": event.step, "checkpoint": event.checkpoint})

    def _note_quest_progress(self) -> None:
        """A quest the battle ended before: its record says how far it got (the checkpoint keeps
        its data position, so the next battle continues it; it pays nothing until it is done)."""
        progress = self.state.quest_progress
        record = self.store.quests.get(self.quest_id)
        if progress is None or record is None or record.state == "done":
            return
        self.store.quests.update(
            self.quest_id, report={**record.report, "progress": round(progress, 4)}, updated_at=time.time()
        )

    def _settle_board_quest(self, reason: StopReason) -> None:
        """The board quest of a battle that stopped before finishing it (a finished one is done)."""
        board = self.board
        current = board.current() if board is not None else None
        if board is None or current is None or current.id != self.quest_id:
            return
        bad_input = self._bad_input
        if reason not in (StopReason.ERROR, StopReason.CRASHED):
            # The player stopped the battle (or a signal, a full disk): not the quest's doing, and
            # no attempt is counted; it is served again first at its priority.
            board.release(self.quest_id)
        elif bad_input is not None and _names_quest(bad_input, board.path_of(current), current.path):
            # The quest file itself cannot be trained on: every retry would end a battle again.
            board.mark_failed(self.quest_id, f"the trainer cannot use it: {bad_input}", final=True)
        elif bad_input is not None:
            # Bad input that is not the quest (a checkpoint, the hero's knobs): the quest waits.
            board.release(self.quest_id)
        elif reason == StopReason.CRASHED:
            # The trainer died without a word: killed from outside (a forced stop, `kill -9`, the
            # OOM killer). Nothing says the quest did it: it keeps its priority and its place.
            board.release(self.quest_id)
        else:
            # The trainer reported an error of its own while on this quest: the board retries it
            # (at low priority) up to its limit; the campaign goes on.
            board.mark_failed(self.quest_id, f"the battle ended: {reason}")

    # ------------------------------------------------------------ helpers

    def _check_achievements(self) -> list[Notification]:
        campaign = self.store.campaigns.require(self.campaign_id)
        context = AchievementContext(
            steps=self.state.step,
            hero_level=self._hero_level(),
            checkpoints=len(self.store.ledger.by_campaign(self.campaign_id)),
            skill_levels=campaign.skill_levels,
            productive_streak=self.state.strain.productive_streak,
            quests_completed=campaign.quests_completed,
            has_champion=self.store.ledger.champion(self.campaign_id) is not None,
        )
        notes = []
        for achievement in new_achievements(context, self._unlocked):
            self._unlocked.add(achievement.id)
            self.store.achievements.unlock(
                AchievementRecord(id=achievement.id, campaign_id=self.campaign_id, title=achievement.name)
            )
            notes.append(achievement_unlocked(achievement))
        return notes

    def _hero_level(self) -> int:
        return hero_level(self.state.step, self.hero.steps_per_level)

    def _log_event(self, kind: str, data: dict[str, object]) -> None:
        self.store.events.add(EventRecord(kind=kind, campaign_id=self.campaign_id, data=dict(data)))
        if len(self.store.events) > EVENTS_KEPT * 1.2:
            self.store.events.trim(EVENTS_KEPT)


def trainer_died_of(event: Error) -> Notification | None:
    """The one place that decides an `Error` means the trainer died: a crash (its whole message,
    the child's last words) or any other fatal error (its first line); None for one it survives."""
    if event.kind is ErrorKind.CRASH:
        return trainer_died(event.message)
    if event.fatal:
        return trainer_died(event.message.strip().splitlines()[0] if event.message.strip() else "unknown error")
    return None


def _names_quest(message: str, path: Path, relative: str) -> bool:
    """Whether a trainer error message is about the quest file (it names the file it read)."""
    return str(path) in message or relative in message


def _relative(path: str, root: Path) -> str:
    try:
        return Path(path).resolve().relative_to(root).as_posix()
    except ValueError:
        return path
