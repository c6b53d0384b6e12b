"""One battle: load the hero and the quest, train to `job.max_steps`, obey commands, checkpoint.

`run_battle` never raises for a problem of the battle itself: it reports it as an `Error` event and
returns (and emits) the final `Stopped`.
"""

from __future__ import annotations

import errno
import itertools
import math
import os
import shutil
import time
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch.optim.lr_scheduler import LambdaLR

from realm_tui.contract.manifest import cleanup_temp_checkpoints, manifest_size
from realm_tui.contract.protocol import (
    CheckpointSaved,
    Command,
    Error,
    ErrorKind,
    Evaluate,
    Event,
    Generate,
    Hello,
    Log,
    Pause,
    QuestFinished,
    QuestStarted,
    Resume,
    SaveNow,
    SetCurriculum,
    Step,
    StepProgress,
    Stop,
    Stopped,
    StopReason,
    TrainJob,
)
from realm_tui.errors import InputError, RealmError
from realm_tui.rules.validation import mixed_val_loss
from realm_tui.trainer import checkpoint as ck
from realm_tui.trainer.control import NullControl, TrainerControl
from realm_tui.trainer.data import ChatFormat, DataPosition, Example, QuestData
from realm_tui.trainer.distributed import any_rank, save_on_main, shard_examples
from realm_tui.trainer.examiner import Examiner
from realm_tui.trainer.hero import load_hero
from realm_tui.trainer.knob_check import check_job_knobs
from realm_tui.trainer.mixer import Mixer
from realm_tui.trainer.optim_setup import follow_job_lr, fresh_moments, make_job_optimizer
from realm_tui.trainer.pace import Pace
from realm_tui.trainer.pack_width import row_tokens_for
from realm_tui.trainer.runtime import (
    FakeFaults,
    lr_lambda,
    make_accelerator,
    micro_batches,
    resolve_precision,
    seed_everything,
)
from realm_tui.trainer.save_progress import SaveProgress, serialized
from realm_tui.trainer.school_registry import make_school
from realm_tui.trainer.schools import StepSkipped, quest_loader

SKIP_LIMIT = 25
"""Draws in a row a school may skip (the Arena: no signal) before the battle stops."""
NONFINITE_LIMIT = 3
"""Skipped updates in a row before rolling back to the last good checkpoint."""
MAX_VAL_EXAMPLES = 256
PAUSE_POLL_S = 0.2
DISK_POLL_S = 5.0
"""While paused for a full disk, how often free space is looked at (then the save is retried)."""
DISK_GROWN_MB = 16
"""Space that must have been freed since a failed save before it is retried by itself."""
STOP_POLL_S = 0.2
"""Least seconds between two looks for a Stop while an eval runs."""


class _Halt(Exception):
    """Unwinds the loop to `run` on Stop (or on Stop while the disk is full)."""

    def __init__(self, reason: StopReason, save: bool) -> None:
        super().__init__(reason)
        self.reason, self.save = reason, save


def run_battle(
    job: TrainJob,
    emit: Callable[[Event], None],
    control: TrainerControl | None = None,
    *,
    fake_faults: FakeFaults | None = None,
) -> Stopped:
    """Train `job` to its max_steps; `emit` gets every event; `control` is polled at step boundaries."""
    battle = _Battle(job, emit, control or NullControl(), fake_faults or FakeFaults.from_env())
    return battle.run()


class _Battle:
    def __init__(self, job: TrainJob, emit: Callable[[Event], None], control: TrainerControl, fakes: FakeFaults):
        # One lock around every send: a save's progress thread sends beside the loop (save_progress).
        self.job, self.emit, self.control, self.fakes = job, serialized(emit), control, fakes
        self.step = 0
        self.last_good: Path | None = None
        self.last_saved_step = -1
        self.paused = False
        self.notes: dict[str, Any] = {}
        self.last_loss: float | None = None
        self.tokens = 0
        self.steps_done = 0
        self.active_s = 0.0
        self.pace = Pace()
        self.since_save_s = 0.0
        self.nonfinite_streak = 0
        self.skip_streak = 0
        self.started = time.time()
        self._free_at_failure: float | None = None
        self.quest_reported = False
        """Whether QuestFinished was sent (once, at the step that trained the quest's last example)."""
        self.stopping = False
        """A Stop has arrived (evals in flight end; the last checkpoint skips its evals)."""
        self._deferred: list[Command] = []
        """Commands read while looking for a Stop during an eval, handled at the next boundary."""
        self._stop_polled = 0.0
        self.drawn_since_save: Counter[str] = Counter()
        """Examples the trained steps drew per source since the last save: the val loss's weights."""

    # ------------------------------------------------------------ lifecycle

    def run(self) -> Stopped:
        try:
            self._setup()
            reason, save = StopReason.FINISHED, True
            try:
                self._train()
            except _Halt as halt:
                reason, save = halt.reason, halt.save
            if save:
                try:
                    self._checkpoint()
                except _Halt as halt:
                    reason = halt.reason
        except RealmError as err:
            return self._fail(str(err), ErrorKind.BAD_INPUT if isinstance(err, InputError) else ErrorKind.ERROR)
        except Exception:
            return self._fail(traceback.format_exc(limit=8), ErrorKind.CRASH)
        self._report_unfinished_quest()
        return self._stopped(reason)

    def _stopped(self, reason: StopReason) -> Stopped:
        stopped = Stopped(self.step, reason, str(self.last_good) if self.last_good else None)
        self.emit(stopped)
        return stopped

    def _fail(self, message: str, kind: ErrorKind) -> Stopped:
        self.emit(Error(message, fatal=True, kind=kind))
        return self._stopped(StopReason.ERROR)

    def _setup(self) -> None:
        job = self.job
        seed_everything(job.seed)
        if job.batch_size < 1 or job.grad_accum < 1:
            raise RealmError(f"batch_size and grad_accum must be at least 1 (got {job.batch_size}, {job.grad_accum})")
        self.precision = resolve_precision(job.precision)
        self.accelerator = make_accelerator(self.precision)
        self.ckpt_dir = Path(job.checkpoints_dir)
        removed = cleanup_temp_checkpoints(self.ckpt_dir) if self.accelerator.is_main_process else []
        if removed:
            self.emit(Log(f"removed {len(removed)} unfinished checkpoint folder(s) in {self.ckpt_dir}"))
        self.school = make_school(job)  # armory/schools: bad options fail before any weight loads
        gear_notes = check_job_knobs(job)
        self.emit(Log(f"loading hero {job.hero_id}"))
        with self.accelerator.main_process_first():  # rank 0 builds dio-nano / downloads once, then the rest
            hero = load_hero(job.hero, Path(job.realm_root), hero_id=job.hero_id, profile=job.memory_profile)
        self.tokenizer, self.adapter = hero.tokenizer, hero.is_adapter
        self.pad_id = int(hero.tokenizer.pad_token_id)
        chat = ChatFormat.from_hero(job.hero)
        self.data: QuestData | None = None
        if job.quest_paths or not job.curriculum.get("skills"):
            self.data = quest_loader(job.school)(
                job.quest_paths,
                hero.tokenizer,
                job.max_length,
                seed=job.seed,
                val_fraction=job.val_fraction,
                chat=chat,
            )
        self._setup_mixer(chat)
        self.examples_per_step = self.school.examples_per_step(job.batch_size * job.grad_accum)
        self.row_tokens = row_tokens_for(hero.model.config) if job.packing else None
        if self.row_tokens:
            gear_notes.append(
                f"packing: rows up to {self.row_tokens} tokens (attention is cheap beside this hero's linears)"
            )
        self.micro_batch = job.batch_size
        optimizer, optimizer_notes = make_job_optimizer(job, hero.model, str(hero.info["method"]))
        gear_notes += [*hero.info.get("notes", []), f"attention: {hero.info['attn_implementation']}", *optimizer_notes]
        self.scheduler = LambdaLR(optimizer, lr_lambda(job.warmup_steps, job.max_steps, job.lr_schedule))
        self.model, self.optimizer = self.accelerator.prepare(hero.model, optimizer)
        if job.resume_from:
            self._resume(Path(job.resume_from))
        self.emit(
            Hello(
                pid=os.getpid(),
                torch_version=str(torch.__version__),  # a TorchVersion would import torch in the parent
                device=str(self.accelerator.device),
                precision=self.precision,
                hero_id=job.hero_id,
                parameters=int(hero.info["parameters"]),
                trainable_parameters=int(hero.info["trainable_parameters"]),
            )
        )
        if self.data is not None and self.data.dropped:
            self.emit(Log(f"skipped {self.data.dropped} example(s) with no assistant token within max_length"))
        if self.data is not None and self.data.val_note:
            self.emit(Log(self.data.val_note))
        examples, tokens = (len(self.data.train), self.data.tokens) if self.data is not None else (0, 0)
        self.emit(QuestStarted(job.quest_id, tuple(job.quest_paths), examples, tokens))
        gear_notes += self.school.start(self.accelerator, self._unwrapped, self.tokenizer, self._load_base)
        for note in gear_notes:
            self.emit(Log(note))

    def _setup_mixer(self, chat: ChatFormat) -> None:
        """The example source (quest + generated skill data) and the examiner (evals, generation)."""
        job = self.job
        self.mixer = Mixer(
            quest=self.data,
            tokenizer=self.tokenizer,
            chat=chat,
            max_length=job.max_length,
            seed=job.seed,
            configs_dir=Path(job.realm_root) / "configs",
            curriculum=dict(job.curriculum),
            log=lambda message: self.emit(Log(message, level="warning")),
            quest_id=job.quest_id,
            quest_passes=job.quest_passes,
            wrap=self.school.wrap_problem,
        )
        self.stream = self.mixer.stream
        self.examiner = Examiner(
            job,
            inference_model=self._unwrapped,
            loss_fn=self._loss_of,
            tokenizer=self.tokenizer,
            chat=chat,
            mixer=self.mixer,
            emit=self.emit,
            interrupted=self._stop_requested,
            eval_fault=self.fakes.eval_error,
        )

    @property
    def curriculum(self) -> dict[str, Any]:
        return self.mixer.curriculum

    def _unwrapped(self) -> Any:
        return self.accelerator.unwrap_model(self.model)

    def _restore(self, folder: Path) -> dict[str, Any]:
        state = ck.load_checkpoint(folder)
        if ck.is_sharded(self.model):  # FSDP: every rank reads the whole state and keeps its shards
            ck.load_sharded(self.model, self.optimizer, folder, state)
        else:
            ck.load_weights_into(self._unwrapped(), folder, verified=True)  # load_checkpoint verified it
            self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.step = self.last_saved_step = int(state["step"])
        self.last_good = folder
        return state

    def _resume(self, folder: Path) -> None:
        state = self._restore(folder)
        changed = follow_job_lr(self.optimizer, self.scheduler, self.job.learning_rate)
        if changed:
            self.emit(Log(changed))
        ck.restore_rng(state["rng"])
        self.school.load_state_dict(state.get("school"))
        if self.school.fresh_optimizer():
            self.emit(Log(fresh_moments(self.optimizer)))
        self.mixer.load_state_dict(state.get("mixer") or {"draw": self.step}, DataPosition(*state["data_position"]))
        self.micro_batch = max(1, min(int(state.get("micro_batch", self.micro_batch)), self.job.batch_size))
        if not self.job.curriculum and state.get("curriculum"):
            self.mixer.set_curriculum(dict(state["curriculum"]))
        self.emit(Log(f"resumed from {folder.name} at step {self.step}"))

    # ------------------------------------------------------------ commands

    def _stop_requested(self) -> bool:
        """Whether a Stop has arrived; between steps (an eval) the control is polled at most
        every STOP_POLL_S and whatever else came is kept for the next boundary."""
        if self.stopping:
            return True
        now = time.monotonic()
        if now - self._stop_polled < STOP_POLL_S:
            return False
        self._stop_polled = now
        # A local look (no collective across ranks): how often it runs depends on this rank's clock.
        commands = getattr(self.control, "poll_local", self.control.poll)(0.0)
        self._deferred += commands
        self.stopping = any(isinstance(c, Stop) for c in commands)
        return self.stopping

    def _boundary(self) -> None:
        notify = getattr(self.control, "notify_step", None)
        if notify is not None:
            notify(self.step)
        deferred, self._deferred = self._deferred, []
        self._handle(deferred + self.control.poll(0.0))
        while self.paused:
            self._handle(self.control.poll(PAUSE_POLL_S))

    def _handle(self, commands: Sequence[Command]) -> None:
        for cmd in commands:
            if isinstance(cmd, Pause):
                self.paused = True
                self.emit(Log(f"paused at step {self.step}"))
            elif isinstance(cmd, Resume):
                self.paused = False
                self.emit(Log(f"resumed at step {self.step}"))
            elif isinstance(cmd, Stop):
                self.stopping = True
                raise _Halt(cmd.reason, cmd.save)
            elif isinstance(cmd, SaveNow):
                self._checkpoint()
            elif isinstance(cmd, SetCurriculum):
                self.mixer.set_curriculum(dict(cmd.curriculum))
            elif isinstance(cmd, Evaluate):
                self.examiner.evaluate(cmd.skill, cmd.level, self.step, cmd.request_id)
            elif isinstance(cmd, Generate):
                self.examiner.generate(cmd)
            else:
                self.emit(Log(f"{type(cmd).__name__} is not handled by the trainer yet", level="warning"))

    # ------------------------------------------------------------ training

    def _train(self) -> None:
        self._boundary()
        while self.step < self.job.max_steps:
            self._one_step()
            self._boundary()

    def _one_step(self) -> None:
        job, target = self.job, self.step + 1
        # Every rank draws the global step and trains on its own shard (one process: all of it).
        examples = shard_examples(
            self.mixer.next_examples(self.examples_per_step * self.accelerator.num_processes), self.accelerator
        )
        lr = float(self.optimizer.param_groups[0]["lr"])
        t0 = time.perf_counter()
        while True:
            try:
                loss, grad_norm = self._forward_backward(examples, target)
                break
            except torch.OutOfMemoryError:
                self._on_oom(target)
            except StepSkipped as skip:
                self._on_skipped(target, str(skip))
                return
        self.skip_streak = 0
        if not (math.isfinite(loss) and math.isfinite(grad_norm)):
            self._on_nonfinite(target, loss, grad_norm)
            return
        self.nonfinite_streak = 0
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.step, self.last_loss = target, loss
        dt = time.perf_counter() - t0
        self.active_s += dt
        self.since_save_s += dt
        self.steps_done += 1
        self.tokens += sum(len(e) for e in examples)
        self.pace.mark(self.step, time.monotonic())
        self.drawn_since_save.update(self.mixer.last_mix)
        self.emit(
            Step(
                step=self.step,
                max_steps=job.max_steps,
                loss=loss,
                lr=lr,
                grad_norm=grad_norm,
                tokens_per_s=self.tokens / max(self.active_s, 1e-9),
                eta_s=self._eta(),
                tokens=self.tokens,
                epoch=self.stream.epoch_float,
                elapsed_s=time.time() - self.started,
                metrics=dict(self.school.metrics),
                quest_progress=self.mixer.quest_progress,
                mix=dict(self.mixer.last_mix),
            )
        )
        quest_just_done = self._check_quest_done()
        self.examiner.after_step(self.step)
        by_steps = job.save_steps > 0 and self.step % job.save_steps == 0
        by_time = job.save_minutes > 0 and self.since_save_s >= job.save_minutes * 60 and not self._waits_for_evals()
        if self.accelerator.num_processes > 1 and job.save_minutes > 0:
            by_time = any_rank(by_time)  # each rank's clock differs; the save (a collective) must not
        if by_steps or by_time:
            self._checkpoint()
        if quest_just_done and not self.mixer.has_other_sources:
            raise _Halt(StopReason.FINISHED, save=True)  # nothing left to train: the battle ends with its quest

    def _waits_for_evals(self) -> bool:
        """A save due by time waits for the next scheduled eval step (fewer than eval_every_steps
        away), so it is judged by those evals: saving two steps after an eval ran the same evals
        again (a 26 s stall in play)."""
        every = self.job.eval_every_steps
        return every > 0 and self.step % every != 0

    def _eta(self) -> float:
        """Time left at the recent wall-clock pace (evals and saves included); the mean training
        time per step until two steps were timed."""
        remaining = self.job.max_steps - self.step
        recent = self.pace.eta(remaining)
        return recent if recent is not None else remaining * self.active_s / self.steps_done

    def _check_quest_done(self) -> bool:
        """Send QuestFinished once, at the step that trained the quest's last example for its passes,
        with the steps that drew this quest's examples (over all its battles)."""
        if self.quest_reported or not self.mixer.quest_done:
            return False
        self.quest_reported = True
        self.emit(QuestFinished(self.job.quest_id, self.mixer.quest_steps, self.last_loss))
        return True

    def _report_unfinished_quest(self) -> None:
        """Say how far a quest the battle ended before got: it continues from there next battle."""
        progress = self.mixer.quest_progress
        if progress is None or self.quest_reported:
            return
        self.emit(
            Log(
                f"quest {self.job.quest_id} in progress: {progress:.0%} of its examples trained in "
                f"{self.mixer.quest_steps} steps; it continues from there in the next battle"
            )
        )

    def _forward_backward(self, examples: list[Example], target: int) -> tuple[float, float]:
        self.optimizer.zero_grad(set_to_none=True)
        if self.fakes.oom(target):
            raise torch.OutOfMemoryError(f"fake out-of-memory (fault injection) at step {target}")
        job = self.job
        return self.school.accumulate(
            self.accelerator,
            self.model,
            examples,
            micro_batch=self.micro_batch,
            batching=dict(
                packing=job.packing, max_length=job.max_length, pad_id=self.pad_id, row_tokens=self.row_tokens
            ),
            max_grad_norm=job.max_grad_norm,
            poison=self.fakes.nonfinite(target),
            token_budget=job.micro_batch_tokens,
            progress=self._step_progress(target, examples),
        )

    def _step_progress(self, target: int, examples: list[Example]) -> Callable[[int, int], None]:
        """The micro-batch callback of step `target`: a `StepProgress` after a micro-batch (never
        the last: the `Step` follows it) once `job.step_progress_after_s` has passed since the step
        began or since the previous one, so a long step is never silent and a short one says nothing."""
        started = time.monotonic()
        after = self.job.step_progress_after_s
        # Tokens behind each micro-batch as the plain path cuts them (another school's own chunks,
        # rollouts or pairs, report micro-batches only).
        chunks = micro_batches(examples, self.micro_batch, self.job.micro_batch_tokens)
        tokens_before = list(itertools.accumulate((sum(len(e) for e in c) for c in chunks), initial=0))

        last = [started]

        def progress(done: int, total: int) -> None:
            now = time.monotonic()
            if done >= total or now - last[0] < after:
                return
            last[0] = now
            known = total == len(chunks)
            self.emit(StepProgress(target, done, total, tokens_before[done] if known else 0, tokens_before[-1]))

        return progress

    def _on_oom(self, target: int) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        if self.micro_batch <= 1:
            raise RealmError(
                f"out of memory at step {target} even with micro-batch 1: "
                "lower max_length or choose a lighter memory profile"
            )
        old, self.micro_batch = self.micro_batch, self.micro_batch // 2
        accum = math.ceil(self.examples_per_step / self.micro_batch)
        self.emit(
            Log(
                f"out of memory at step {target}: micro-batch {old} → {self.micro_batch}, "
                f"grad accumulation → {accum} (same effective batch)",
                level="warning",
            )
        )
        self.notes.setdefault("oom", []).append({"step": target, "micro_batch": self.micro_batch, "grad_accum": accum})

    def _on_skipped(self, target: int, why: str) -> None:
        """The school found nothing to learn from this draw: no update, the data moves on; after
        SKIP_LIMIT such draws in a row the battle stops and says why."""
        self.optimizer.zero_grad(set_to_none=True)
        self.skip_streak += 1
        self.emit(Log(f"step {target} skipped ({self.skip_streak} in a row): {why}", level="warning"))
        if self.skip_streak >= SKIP_LIMIT:
            raise RealmError(
                f"{SKIP_LIMIT} draws in a row gave nothing to learn (last: {why}); the {self.job.school} school "
                "cannot train this hero at this level: train it with --school scribe first, or change the level"
            )

    def _on_nonfinite(self, target: int, loss: float, grad_norm: float) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        self.nonfinite_streak += 1
        self.emit(
            Error(
                f"non-finite loss ({loss}) or grad norm ({grad_norm}) at step {target}: update skipped "
                f"({self.nonfinite_streak} in a row)",
                kind=ErrorKind.NONFINITE,
            )
        )
        if self.nonfinite_streak >= NONFINITE_LIMIT:
            self.nonfinite_streak = 0
            self._rollback(f"{NONFINITE_LIMIT} non-finite updates in a row")

    def _rollback(self, why: str) -> None:
        if self.last_good is None:
            raise RealmError(
                f"{why} before any checkpoint was saved, so there is nothing to roll back to: "
                f"lower the learning rate (now {self.job.learning_rate}) and start again"
            )
        folder = self.last_good
        self._restore(folder)
        self.emit(Log(f"{why}: rolled back to {folder.name} (step {self.step}); the data moves on", level="warning"))
        self.notes.setdefault("rollbacks", []).append({"to_step": self.step, "why": why})
        notify = getattr(self.control, "notify_step", None)
        if notify is not None:
            notify(self.step)

    # ------------------------------------------------------------ checkpoints

    def _checkpoint(self) -> Path | None:
        """Save now (once per step); on a full disk wait, paused, until space returns (polled every
        DISK_POLL_S, or Resume to retry at once); a Stop meanwhile still saves if space allows."""
        if self.step == self.last_saved_step and self.last_good is not None:
            return self.last_good
        self.examiner.before_save(self.step)  # the parent judges a checkpoint by the evals of its step
        while True:
            path = self._try_save()
            if path is not None:
                return path
            if self.last_saved_step == self.step:  # weights were rolled back instead
                return self.last_good
            self._wait_for_disk()
            self.emit(Log("retrying the checkpoint"))

    def _wait_for_disk(self) -> None:
        """Block until a retry makes sense: free space back above the limit (headless has no
        resume key), or Resume. On Stop, one last save when space allows, then halt."""
        next_look = time.monotonic() + DISK_POLL_S
        while True:
            commands = self.control.poll(PAUSE_POLL_S)
            for cmd in commands:
                if isinstance(cmd, Stop):
                    saved = self._disk_has_room() and self._try_save() is not None
                    raise _Halt(cmd.reason if saved else StopReason.DISK_FULL, save=False)
            if any(isinstance(cmd, Resume) for cmd in commands):
                return
            if time.monotonic() >= next_look:
                if self._disk_has_room(grown=True):
                    self.emit(Log(f"disk space is back in {self.ckpt_dir}: resuming"))
                    return
                next_look = time.monotonic() + DISK_POLL_S

    def _free_mb(self) -> float | None:
        try:
            return shutil.disk_usage(self.ckpt_dir).free / 2**20
        except OSError:
            return None

    def _disk_has_room(self, *, grown: bool = False) -> bool:
        """Free space at or above the job's limit; `grown`: and more than when the save failed (a
        save that hit ENOSPC above the limit is not retried until something was freed)."""
        free, failed_at = self._free_mb(), self._free_at_failure
        limit = float(self.job.min_free_disk_mb)
        if grown and failed_at is not None and failed_at >= limit:
            limit = failed_at + DISK_GROWN_MB
        return free is not None and free >= limit

    def _disk_full(self, detail: str) -> None:
        self._free_at_failure = self._free_mb()
        where = f"not enough disk space to save a checkpoint in {self.ckpt_dir} ({detail})"
        advice = "training is paused: free some space and it resumes by itself (the last checkpoint is kept)"
        self.emit(Error(f"{where}; {advice}", kind=ErrorKind.DISK_FULL))

    def _try_save(self) -> Path | None:
        if not ck.all_finite(self.model):
            self.emit(Error(f"weights are not finite at step {self.step}: not saving them", kind=ErrorKind.NONFINITE))
            self._rollback("non-finite weights")
            return None
        self.ckpt_dir.mkdir(parents=True, exist_ok=True)
        free_mb = shutil.disk_usage(self.ckpt_dir).free / 2**20
        if free_mb < self.job.min_free_disk_mb:
            self._disk_full(f"{free_mb:.0f} MB free, {self.job.min_free_disk_mb} MB needed")
            return None
        try:
            # The save reports itself (CheckpointProgress, a thread among them) until CheckpointSaved.
            with SaveProgress(self.step, self.emit, self.job.step_progress_after_s) as progress:
                path, val_losses, val_loss = self._write_checkpoint(progress)
        except OSError as err:
            if err.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            self._disk_full(str(err))
            return None
        self.last_good, self.last_saved_step, self.since_save_s = path, self.step, 0.0
        drawn, self.drawn_since_save = dict(self.drawn_since_save), Counter()
        notes, self.notes = self.notes, {}
        self.emit(
            CheckpointSaved(
                step=self.step,
                path=str(path),
                name=path.name,
                train_loss=self.last_loss,
                val_loss=val_loss,
                val_losses=val_losses,
                val_drawn=drawn,
                lr=float(self.optimizer.param_groups[0]["lr"]),
                size_bytes=manifest_size(path) if self.accelerator.is_main_process else 0,
                quest_id=self.job.quest_id,
                adapter=self.adapter,
                notes=notes,
            )
        )
        return path

    def _write_checkpoint(self, progress: SaveProgress) -> tuple[Path, dict[str, float], float | None]:
        """Measure the held-out losses, then write the checkpoint folder (rank 0); its path, the
        losses and their mix. `progress` hears of each micro-batch and write."""
        val_losses = self._val_losses(progress)
        val_loss = mixed_val_loss(val_losses, self.drawn_since_save)
        state = ck.trainer_state(
            step=self.step,
            position=self.stream.position,
            micro_batch=self.micro_batch,
            examples_per_step=self.examples_per_step,
            optimizer=self.optimizer,
            scheduler=self.scheduler,
            curriculum=self.curriculum,
            losses=(self.last_loss, val_loss),
            optimizer_state=ck.gathered_optimizer_state(self.model, self.optimizer),  # FSDP: a collective
        )
        state["mixer"] = self.mixer.state_dict()
        state["school"] = self.school.state_dict()
        meta = {"hero_id": self.job.hero_id, "quest_id": self.job.quest_id, "adapter": self.adapter}
        meta["campaign_id"] = self.job.campaign_id  # lets the parent adopt an unlisted save (issue 13)
        meta |= {"train_loss": self.last_loss, "val_loss": val_loss, "precision": self.precision}
        meta["val_losses"] = val_losses
        meta["optimizer"] = self.job.optimizer  # which physics' state the checkpoint holds (paths)
        path = save_on_main(  # rank 0 writes; every rank learns the folder
            self.accelerator,
            self.model,
            lambda model, sd: ck.save_checkpoint(
                self.ckpt_dir, self.step, model, self.tokenizer, state, meta, state_dict=sd, stage=progress.stage
            ),
        )
        return path, val_losses, val_loss

    def _val_losses(self, progress: SaveProgress) -> dict[str, float]:
        """Held-out loss per source the battle trains (`Mixer.val_sets`); `rules.validation`
        weighs them like the mix into the checkpoint's val loss (DEF)."""
        losses = {
            source: self._loss_of(examples, progress.batches(f"val {source}"))
            for source, examples in self.mixer.val_sets(MAX_VAL_EXAMPLES).items()
        }
        return {source: loss for source, loss in losses.items() if loss is not None}

    def _loss_of(self, examples: list[Example], progress: Callable[[int, int], None] | None = None) -> float | None:
        job, device = self.job, self.accelerator.device
        return self.school.eval_loss(
            self.model,
            examples,
            self.micro_batch,
            job.packing,
            job.max_length,
            self.pad_id,
            device,
            job.micro_batch_tokens,
            progress,
        )

    def _load_base(self) -> Any:
        """A fresh copy of the hero's base weights (the Judge's reference), frozen-ready."""
        job = self.job
        profile = {**job.memory_profile, "gradient_checkpointing": False}
        return load_hero(job.hero, Path(job.realm_root), hero_id=job.hero_id, profile=profile).model
