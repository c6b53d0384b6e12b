"""Evals and generation inside a battle, between optimizer steps.

- every `job.eval_every_steps` steps, each curriculum skill is evaluated at its training level;
- before each checkpoint is saved, the same evals run if none ran at that step yet (the parent
  blesses a checkpoint with the evals of its step, so they must arrive first);
- `Evaluate(skill, level)` runs that eval at the next step boundary (re-tests of mastered levels);
- `Generate` answers a conversation greedily, streaming a few partial `Generated(done=False)`
  events (the text so far) before the final `Generated(done=True)`.

An eval in flight sends `EvalProgress` (n/N problems, ETA) about once a second, and asks
`interrupted()` before every decoding step: a stop cuts it short (an `EvalProgress` with
`cut_short`, a warning, no `EvalResult`, so it never counts toward a level) and the
curriculum evals before a checkpoint are skipped while stopping, so the checkpoint is saved
within seconds. An eval that raises is reported as an `Error` line and the battle goes on.
Out of memory halves the eval batch and retries (`trainer.oom_retry`, a warning line each time;
the smaller batch is kept for the battle's later evals); a `Generate` that runs out of memory is
an `Error` line, not the battle's end.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from realm_tui.contract.protocol import Error, ErrorKind, EvalProgress, Event, Generate, Generated, Log, TrainJob
from realm_tui.errors import RealmError
from realm_tui.skills.curriculum import skill_slots
from realm_tui.trainer.data import ChatFormat, tokenize_chat
from realm_tui.trainer.evaluate import (
    EVAL_BATCH,
    EvalCutShort,
    evaluate_skill,
    generate_ids,
    prompt_ids,
    stop_token_ids,
)
from realm_tui.trainer.mixer import Mixer
from realm_tui.trainer.oom_retry import BatchHalving, free_memory, is_out_of_memory

STREAM_EVERY = 8
"""Tokens between partial `Generated` events."""
MAX_GENERATE_TOKENS = 2048
VAL_LOSS_PROBLEMS = 32
"""Held-out problems of an eval whose teacher-forced loss is the `EvalResult`'s val_loss (the first
ones of the eval's set; the accuracy is over all of them)."""
PROGRESS_EVERY_S = 1.0
"""Least seconds between two `EvalProgress` events of one eval (its first is sent at once)."""


def _never() -> bool:
    return False


class Examiner:
    def __init__(
        self,
        job: TrainJob,
        *,
        inference_model: Callable[[], Any],
        loss_fn: Callable[[list[Any]], float | None],
        tokenizer: Any,
        chat: ChatFormat,
        mixer: Mixer,
        emit: Callable[[Event], None],
        interrupted: Callable[[], bool] = _never,
        eval_fault: Callable[[int], bool] = lambda step: False,
    ) -> None:
        self.job = job
        self.inference_model = inference_model
        self.loss_fn = loss_fn
        self.tokenizer = tokenizer
        self.chat = chat
        self.mixer = mixer
        self.emit = emit
        self.interrupted = interrupted
        """True once a Stop has arrived: evals in flight end, evals before the last save are skipped."""
        self.eval_fault = eval_fault
        """Fault injection (FakeFaults.eval_error): an eval after this step raises."""
        self.evaluated_step = -1
        self.eval_batch = BatchHalving(EVAL_BATCH, what="eval", say=lambda text: emit(Log(text, level="warning")))
        """The eval batch, halved on out of memory for the rest of the battle."""
        self._fit: dict[tuple[str, int], bool] = {}
        self._other: tuple[str, Any] | None = None
        """(checkpoint path, model) loaded for `Generate(checkpoint=...)`."""

    # ------------------------------------------------------------ evals

    def after_step(self, step: int) -> None:
        every = self.job.eval_every_steps
        if every > 0 and step % every == 0:
            self.curriculum_evals(step)

    def before_save(self, step: int) -> None:
        if self.evaluated_step != step:
            self.curriculum_evals(step)

    def curriculum_evals(self, step: int) -> None:
        for slot in skill_slots(self.mixer.curriculum):
            if self.interrupted():
                self.emit(Log(f"evals at step {step} skipped: the battle is stopping"))
                return
            if self._fits(slot.id, slot.level):
                self.evaluate(slot.id, slot.level, step)
        self.evaluated_step = step

    def _fits(self, skill_id: str, level: int) -> bool:
        """Whether most of the level's eval problems fit in max_length. A level that does not fit
        cannot be trained either (the mixer drops such examples), so its scheduled evals are
        skipped (said once) rather than spending minutes on answers the hero never saw."""
        key = (skill_id, level)
        if key not in self._fit:
            try:
                problems = self.mixer.skill(skill_id).heldout_eval_set(level, max(1, min(self.samples(skill_id), 256)))
            except (RealmError, ValueError):
                return True  # evaluate() reports the problem
            lengths = [len(tokenize_chat(p.messages(), self.tokenizer, 1 << 20, self.chat)) for p in problems]
            fitting = sum(1 for n in lengths if n <= self.job.max_length)
            self._fit[key] = fitting * 2 >= len(lengths)
            if not self._fit[key]:
                self.emit(
                    Log(
                        f"{skill_id} level {level} is not evaluated: its problems need up to {max(lengths)} tokens "
                        f"and max_length is {self.job.max_length} (raise training_defaults.max_length to train it)",
                        level="warning",
                    )
                )
        return self._fit[key]

    def samples(self, skill_id: str) -> int:
        """Held-out problems per evaluation of `skill_id`: its own `eval_samples_per_level` (sent
        in the job), else the job's `eval_samples`."""
        return int(self.job.eval_samples_by_skill.get(skill_id, self.job.eval_samples))

    def evaluate(self, skill_id: str, level: int, step: int, request_id: str = "") -> None:
        samples = self.samples(skill_id)
        if samples < 1:
            return
        try:
            skill = self.mixer.skill(skill_id)
            skill.config.check_level(level)
        except (RealmError, ValueError) as err:
            self.emit(Error(f"cannot evaluate {skill_id} level {level}: {err}", kind=ErrorKind.BAD_INPUT))
            return
        started = time.perf_counter()
        last = [started]

        def progress(done: int, total: int) -> None:
            now = time.perf_counter()
            if now - last[0] >= PROGRESS_EVERY_S and done < total:
                last[0] = now
                eta = (now - started) / done * (total - done) if done else None
                self.emit(EvalProgress(skill_id, level, step, done, total, eta, request_id))

        try:
            total = len(skill.heldout_eval_set(level, max(1, min(samples, 256))))
        except Exception as err:  # the level's problems cannot be generated: say so, train on
            detail = str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__
            self.emit(
                Error(
                    f"eval {skill_id} L{level} at step {step} failed ({detail}); the battle goes on",
                    kind=ErrorKind.EVAL,
                )
            )
            return
        self.emit(EvalProgress(skill_id, level, step, 0, total, None, request_id))
        try:
            if self.eval_fault(step):
                raise RuntimeError(f"fake eval failure (fault injection) at step {step}")
            result = evaluate_skill(
                self.inference_model(),
                self.tokenizer,
                skill,
                level,
                samples,
                step=step,
                chat=self.chat,
                request_id=request_id,
                progress=progress,
                stop=self.interrupted,
                halving=self.eval_batch,
            )
            # Answers done; the loss pass is silent for a second or two (an SY prefill's worth): say so first.
            self.emit(EvalProgress(skill_id, level, step, total, total, None, request_id))
            # The loss is a mean over thousands of answer tokens: VAL_LOSS_PROBLEMS held-out problems
            # measure it as well as all of them, for a third of the cost (it was a third of an eval).
            problems = skill.heldout_eval_set(level, max(1, min(samples, 256)))[:VAL_LOSS_PROBLEMS]
            examples = [tokenize_chat(p.messages(), self.tokenizer, self.job.max_length, self.chat) for p in problems]
            val = self.loss_fn([e for e in examples if e.n_labels > 0])
        except EvalCutShort as cut:
            self.emit(EvalProgress(skill_id, level, step, cut.done, cut.total, None, request_id, cut_short=True))
            self.emit(
                Log(
                    f"eval {skill_id} L{level} at step {step} cut short at {cut.done}/{cut.total} problems "
                    "by a stop (not counted)",
                    level="warning",
                )
            )
            return
        except Exception as err:  # an eval is not worth the battle: say so, train on
            self.emit(EvalProgress(skill_id, level, step, 0, total, None, request_id, cut_short=True))
            detail = str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__
            self.emit(
                Error(
                    f"eval {skill_id} L{level} at step {step} failed ({detail}); the battle goes on",
                    kind=ErrorKind.EVAL,
                )
            )
            return
        self.emit(replace(result, val_loss=val))
        seconds = time.perf_counter() - started
        summary = f"{result.accuracy:.0%} of {result.total}"
        self.emit(Log(f"eval {skill_id} L{level} at step {step}: {summary} ({seconds:.1f} s)", level="debug"))

    # ------------------------------------------------------------ generation

    def _model_for(self, checkpoint: str | None) -> Any:
        if not checkpoint:
            return self.inference_model()
        folder = Path(checkpoint)
        if not folder.is_absolute():
            candidates = [Path(self.job.checkpoints_dir) / checkpoint, Path(self.job.realm_root) / checkpoint]
            folder = next((c for c in candidates if c.is_dir()), candidates[0])
        key = str(folder.resolve())
        if self._other is None or self._other[0] != key:
            from realm_tui.trainer.answer import load_for_inference

            model, _ = load_for_inference(self.job.hero, Path(self.job.realm_root), folder, self.job.memory_profile)
            self._other = (key, model)
        return self._other[1]

    def generate(self, cmd: Generate) -> None:
        try:
            self._generate(cmd)
            return
        except RuntimeError as err:  # out of memory answering one prompt: not worth the battle
            if not is_out_of_memory(err):
                raise
        free_memory()
        self.emit(
            Error(
                "generation ran out of memory (one prompt: nothing to halve); the battle goes on", kind=ErrorKind.EVAL
            )
        )
        self.emit(Generated("", cmd.request_id, done=True))

    def _generate(self, cmd: Generate) -> None:
        try:
            model = self._model_for(cmd.checkpoint)
        except RealmError as err:
            self.emit(Error(f"cannot load {cmd.checkpoint} to generate: {err}", kind=ErrorKind.BAD_INPUT))
            self.emit(Generated("", cmd.request_id, done=True))
            return
        messages = [{"role": role, "content": content} for role, content in cmd.messages]
        ids = prompt_ids(messages, self.tokenizer, self.chat)
        stops = stop_token_ids(self.tokenizer, self.chat)
        pad = int(self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0)
        sent = [0]

        def stream(produced: list[list[int]]) -> None:
            if len(produced[0]) - sent[0] >= STREAM_EVERY:
                sent[0] = len(produced[0])
                text = self.tokenizer.decode(produced[0], skip_special_tokens=True)
                self.emit(Generated(text, cmd.request_id, done=False))

        self.eval_batch.fake.check(1)  # fault injection (REALM_FAKE_EVAL_OOM=0): even one prompt fails
        (new,) = generate_ids(
            model,
            [ids],
            max_new_tokens=max(1, min(cmd.max_new_tokens, MAX_GENERATE_TOKENS)),
            pad_id=pad,
            stop_ids=stops,
            on_token=stream,
        )
        self.emit(Generated(self.tokenizer.decode(new, skip_special_tokens=True), cmd.request_id, done=True))
