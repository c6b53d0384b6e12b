"""Training schools: how the hero learns (`TrainJob.school`), plus the Oracle enhancer.

* **Scribe** (`scribe`, the default): supervised fine-tuning, next-token cross-entropy on the
  assistant tokens (`runtime.accumulate_gradients`, unchanged).
* **Oracle / Fortune Teller** (`TrainJob.oracle_loss`, on any school): each trained token's loss
  is weighted by how surprising the next-token distribution finds it. The signal is computed on
  the shifted logits without gradients: `entropy` of the distribution, `confidence` (1 − p of
  the true token), `perplexity` (1 / p of the true token), or `margin` (p of the best other
  token − p of the true token, + 1). It is normalised by its mean over the batch's trained
  tokens (so the average weight is 1), clamped into [`min_weight`, `max_weight`] (0.1, 10), and
  the loss is the mean of weight × token loss over the trained tokens. `Step.metrics`:
  `oracle_weight` (mean weight after clamping), `ce` (the unweighted loss); the Step's `loss` stays
  the plain cross-entropy so game stats compare across schools, the weighted one is `objective`.
* **Judge** (`judge`, DPO, Rafailov et al. 2023): preference quests (`preference_data`) of
  prompt / chosen / rejected. Loss −log σ(β·[(log π(c) − log π_ref(c)) − (log π(r) − log π_ref(r))])
  with sequence log-probabilities summed over the answer tokens. The reference is frozen: the LoRA
  base with adapters disabled, else a copy of the weights the battle starts from (recorded in each
  checkpoint, so a resumed battle reloads the same reference), or `school_options.reference`.
  Chat examples in the same step (curriculum skills) add their cross-entropy × `sft_weight`.
  `Step.metrics`: `dpo_margin` (mean β-scaled reward margin), `dpo_accuracy` (share with margin
  > 0), `chosen_reward`, `rejected_reward`.
* **Whisper** (`whisper`, distillation, Hinton et al. 2015): a teacher with the same tokenizer
  (`school_options.teacher`: a checkpoint or HF folder; adapters are merged into their base).
  Per token: α·CE + (1 − α)·T²·KL(teacher_T ‖ student_T) on temperature-T softmaxes
  (`temperature` 2.0, `alpha` 0.5). `Step.metrics`: `kl`, `ce`, `objective`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from realm_tui.contract.protocol import TrainJob
from realm_tui.contract.school_options import SCHOOLS, oracle_settings, school_settings
from realm_tui.errors import InputError, RealmError
from realm_tui.trainer.data import IGNORE, ChatFormat, Example, QuestData, collate_padded, make_batch, split_val
from realm_tui.trainer.preference_data import read_preference_rows, tokenize_continuation
from realm_tui.trainer.runtime import Progress, accumulate_gradients, eval_loss, micro_batches

__all__ = [
    "SCHOOLS",
    "Judge",
    "Oracle",
    "PreferencePair",
    "School",
    "StepSkipped",
    "Whisper",
    "quest_loader",
]

MAX_SURPRISE = 50.0
"""Cap on −log p before `perplexity` exponentiates it (keeps the weights finite)."""


class StepSkipped(RealmError):
    """A school found nothing to learn from this step's draw (the Arena: every group's answers
    scored the same, or a reward was NaN): the loop skips the update and says why."""


# ---------------------------------------------------------------- preference examples


@dataclass(frozen=True)
class PreferencePair(Example):
    """A preference quest line: `input_ids`/`labels` are the chosen answer, `rejected` the other.

    A subclass of `Example` so the quest stream, mixer and token counters handle it unchanged."""

    rejected: Example = Example((), ())

    def __len__(self) -> int:
        return len(self.input_ids) + len(self.rejected)

    @property
    def chosen(self) -> Example:
        return Example(self.input_ids, self.labels)


def load_preference_quest(
    paths: Sequence[str | Path],
    tokenizer: Any,
    max_length: int,
    *,
    seed: int,
    val_fraction: float,
    chat: ChatFormat | None = None,
) -> QuestData:
    """Like `data.load_quest`, for preference JSONL: train/val lists of `PreferencePair`."""
    chat = chat or ChatFormat()
    if not paths:
        raise InputError(None, "the judge school trains on a preference quest, and this battle has none")
    pairs: list[tuple[str, Example]] = []
    dropped = 0
    for path in paths:
        for raw, pref in read_preference_rows(Path(path)):
            chosen = tokenize_continuation(pref.prompt, pref.chosen, tokenizer, max_length, chat)
            rejected = tokenize_continuation(pref.prompt, pref.rejected, tokenizer, max_length, chat)
            if chosen.n_labels == 0 or rejected.n_labels == 0:
                dropped += 1
                continue
            pairs.append((raw, PreferencePair(chosen.input_ids, chosen.labels, rejected)))
    train, val, note = split_val(pairs, seed, val_fraction)
    if not train:
        where = ", ".join(str(p) for p in paths)
        raise InputError(None, f"no trainable preference pair in {where} (answers must fit within max_length)")
    return QuestData(train, val, dropped, note)


def quest_loader(school: str) -> Callable[..., QuestData]:
    """The quest reader for a school (`data.load_quest` signature)."""
    if school == "judge":
        return load_preference_quest
    from realm_tui.trainer.data import load_quest

    return load_quest


# ---------------------------------------------------------------- the Oracle


@dataclass(frozen=True)
class Oracle:
    signal: str = "entropy"
    min_weight: float = 0.1
    max_weight: float = 10.0

    @classmethod
    def from_options(cls, options: Mapping[str, Any] | None) -> Oracle | None:
        settings = oracle_settings(options)
        return None if settings is None else cls(*settings)

    @torch.no_grad()
    def weights(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Per-token weights (0 where untrained) from shifted logits `[B, T, V]` and labels `[B, T]`."""
        mask = labels != IGNORE
        logp = torch.log_softmax(logits.detach().float(), dim=-1)
        target = logp.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
        if self.signal == "entropy":
            score = -(logp.exp() * logp).sum(-1)
        elif self.signal == "confidence":
            score = 1.0 - target.exp()
        elif self.signal == "perplexity":
            score = (-target).clamp(max=MAX_SURPRISE).exp()
        else:  # margin: how far the best other token is ahead of the true one
            others = logp.scatter(-1, labels.clamp(min=0).unsqueeze(-1), float("-inf"))
            score = others.max(-1).values.exp() - target.exp() + 1.0
        score = torch.where(mask, score, torch.zeros_like(score))
        mean = score.sum() / mask.sum().clamp(min=1)
        weights = (score / mean.clamp(min=1e-12)).clamp(self.min_weight, self.max_weight)
        return torch.where(mask, weights, torch.zeros_like(weights))


# ---------------------------------------------------------------- shared maths


def _forward(model: Any, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
    out = model(
        input_ids=batch["input_ids"],
        attention_mask=batch.get("attention_mask"),
        position_ids=batch["position_ids"],
        use_cache=False,
    )
    return out.logits.float()


def _token_ce(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy per position `[B, T]` (0 where untrained); labels are pre-shifted."""
    flat = F.cross_entropy(logits.view(-1, logits.shape[-1]), labels.view(-1), ignore_index=IGNORE, reduction="none")
    return flat.view(labels.shape)


def _sequence_logps(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Sum of log p(label) over each row's trained positions: `[B]`."""
    mask = labels != IGNORE
    logp = torch.log_softmax(logits, dim=-1).gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return (logp * mask).sum(-1)


Sums = dict[str, list[float]]
"""metric → [sum, count]."""


def _add(sums: Sums, key: str, total: float, count: float) -> None:
    entry = sums.setdefault(key, [0.0, 0.0])
    entry[0] += total
    entry[1] += count


# ---------------------------------------------------------------- schools


class School:
    """Scribe: supervised fine-tuning. Subclasses change the loss; the loop calls these hooks."""

    name = "scribe"

    def __init__(self, job: TrainJob, oracle: Oracle | None) -> None:
        self.job = job
        self.oracle = oracle
        self.metrics: dict[str, float] = {}
        self.accelerator: Any = None
        self.unwrap: Callable[[], Any] = lambda: None

    # --- lifecycle (called by the loop) ---

    def load_state_dict(self, state: Mapping[str, Any] | None) -> None:
        """What a checkpoint recorded about this school (before `start`)."""

    def state_dict(self) -> dict[str, Any]:
        return {"name": self.name}

    def fresh_optimizer(self) -> bool:
        """After `load_state_dict`: True when the loop should start the resumed optimizer's
        moments afresh (the Arena, started from another school's checkpoint, if asked)."""
        return False

    def start(
        self, accelerator: Any, unwrap: Callable[[], Any], tokenizer: Any, load_base: Callable[[], Any]
    ) -> list[str]:
        """After the model is prepared (and resumed): load teachers or references; returns notes."""
        self.accelerator, self.unwrap = accelerator, unwrap
        return [f"school {self.name}" + (f" with the Oracle ({self.oracle.signal})" if self.oracle else "")]

    # --- training ---

    @property
    def plain(self) -> bool:
        """Plain SFT: the trainer's own accumulate/eval paths, bit for bit."""
        return self.oracle is None and type(self) is School

    def accumulate(
        self,
        accelerator: Any,
        model: Any,
        examples: list[Example],
        *,
        micro_batch: int,
        batching: dict[str, Any],
        max_grad_norm: float,
        poison: bool = False,
        token_budget: int = 0,
        progress: Progress | None = None,
    ) -> tuple[float, float]:
        """Forward/backward one optimizer step's examples; (reported loss, grad norm after clipping).
        Chat examples go in micro-batches of at most `token_budget` tokens (0: no cap);
        `progress(done, total)` after each micro-batch."""
        if self.plain:
            self.metrics = {}
            return accumulate_gradients(
                accelerator,
                model,
                examples,
                micro_batch=micro_batch,
                batching=batching,
                max_grad_norm=max_grad_norm,
                poison=poison,
                token_budget=token_budget,
                progress=progress,
            )
        chats = [e for e in examples if not isinstance(e, PreferencePair)]
        pairs = [e for e in examples if isinstance(e, PreferencePair)]
        n_labels, n_pairs = sum(e.n_labels for e in chats), len(pairs)
        chunks: list[tuple[str, list[Any]]] = [
            ("chat", chunk) for chunk in micro_batches(chats, micro_batch, token_budget)
        ]
        chunks += [("pair", pairs[i : i + micro_batch]) for i in range(0, len(pairs), micro_batch)]
        sums: Sums = {}
        reported = 0.0
        for j, (kind, chunk) in enumerate(chunks):
            sync = nullcontext() if j == len(chunks) - 1 else accelerator.no_sync(model)
            with sync:
                if kind == "chat":
                    batch = {k: v.to(accelerator.device) for k, v in make_batch(chunk, **batching).items()}
                    objective, shown = self.token_loss(model, batch, sums, training=True)
                    scale = self.chat_weight / max(n_labels, 1)
                else:
                    objective, shown = self.pair_loss(model, chunk, batching["pad_id"], sums)
                    scale = 1.0 / n_pairs
                loss = objective * scale
                if poison:
                    loss = loss * float("nan")
                accelerator.backward(loss)
            reported += float(shown) * scale
            if progress is not None:
                progress(j + 1, len(chunks))
        max_norm = max_grad_norm if max_grad_norm > 0 else float("inf")
        grad_norm = accelerator.clip_grad_norm_(model.parameters(), max_norm)
        self.metrics = {k: total / count for k, (total, count) in sums.items() if count}
        if poison:
            reported = float("nan")
        return reported, float(grad_norm)

    chat_weight = 1.0
    """Factor on the chat examples' loss (Judge: `sft_weight`)."""

    def token_loss(
        self, model: Any, batch: Mapping[str, torch.Tensor], sums: Sums, *, training: bool
    ) -> tuple[torch.Tensor, float]:
        """(summed objective to backpropagate, summed loss to report) over the batch's trained tokens."""
        logits = _forward(model, batch)
        labels = batch["labels"]
        mask = labels != IGNORE
        count = float(mask.sum())
        ce = _token_ce(logits, labels)
        per_token = self.per_token_objective(logits, labels, ce, sums, count)
        reported = float(ce.detach().sum())
        _add(sums, "ce", reported, count)
        if self.oracle is not None:
            weights = self.oracle.weights(logits, labels)
            _add(sums, "oracle_weight", float(weights.sum()), count)
            per_token = per_token * weights
        objective = per_token.sum()
        if self.oracle is not None or type(self) is not School:
            _add(sums, "objective", float(objective.detach()), count)
        return objective, reported

    def per_token_objective(
        self, logits: torch.Tensor, labels: torch.Tensor, ce: torch.Tensor, sums: Sums, count: float
    ) -> torch.Tensor:
        return ce

    def pair_loss(self, model: Any, pairs: list[PreferencePair], pad_id: int, sums: Sums) -> tuple[torch.Tensor, float]:
        raise InputError(None, f"the {self.name} school trains on chat examples, not preference pairs: use the judge")

    # --- evaluation ---

    def examples_per_step(self, default: int) -> int:
        """Examples (the Arena: problems) each optimizer step draws."""
        return default

    def wrap_problem(self, problem: Any, example: Example) -> Example:
        """What the mixer hands on for a generated skill problem (the Arena keeps the problem)."""
        return example

    def eval_loss(
        self,
        model: Any,
        examples: list[Example],
        micro_batch: int,
        packing: bool,
        max_length: int,
        pad_id: int,
        device: Any,
        token_budget: int = 0,
        progress: Progress | None = None,
    ) -> float | None:
        """Validation loss: plain cross-entropy for chat examples, the DPO loss for pairs;
        `progress` is called after each micro-batch."""
        chats = [e for e in examples if not isinstance(e, PreferencePair)]
        pairs = [e for e in examples if isinstance(e, PreferencePair)]
        if not pairs:
            return eval_loss(model, chats, micro_batch, packing, max_length, pad_id, device, token_budget, progress)
        total = 0.0
        starts = range(0, len(pairs), micro_batch)
        model.eval()
        with torch.no_grad():
            for j, i in enumerate(starts):
                loss, _ = self.pair_loss(model, pairs[i : i + micro_batch], pad_id, {})
                total += float(loss)
                if progress is not None:
                    progress(j + 1, len(starts))
        model.train()
        return total / len(pairs)


class FrozenReference:
    """A frozen reference policy (Judge, Arena): the LoRA base with adapters disabled, else a copy
    of the weights the battle starts from (recorded in each checkpoint, so a resumed battle
    reloads the same reference), the base hero, or a named checkpoint."""

    name: str
    job: TrainJob
    accelerator: Any
    unwrap: Callable[[], Any]
    reference_source: str | None = None
    recorded: str | None = None
    reference: Any = None
    adapter_reference = False

    def _load_recorded(self, state: Mapping[str, Any] | None) -> None:
        if state and state.get("name") == self.name and state.get("reference"):
            self.recorded = str(state["reference"])

    def _load_reference(self, model: Any, load_base: Callable[[], Any]) -> str:
        """Build the reference; returns what it is, for the battle log."""
        if hasattr(model, "disable_adapter"):
            self.adapter_reference = True
            self.recorded = "adapters-disabled"
            return "the LoRA base with adapters disabled"
        source = self.reference_source or self.recorded
        if source is None:  # a fresh battle: the weights it starts from
            self.reference = copy.deepcopy(model)
            self.recorded = self.job.resume_from or "base"
        elif source == "base":
            self.reference = load_base()
            self.recorded = "base"
        else:
            from realm_tui.trainer.checkpoint import load_weights_into

            folder = Path(source)
            if not folder.is_dir():
                raise InputError(
                    folder,
                    f"the {self.name}'s reference checkpoint is gone (retention?): set school_options.reference "
                    f"to another checkpoint, or start a fresh {self.name} battle",
                )
            self.reference = load_base()
            load_weights_into(self.reference, folder)
            self.recorded = str(folder)
        self.reference.requires_grad_(False)
        self.reference.eval()
        self.reference.to(self.accelerator.device)
        where = "the base hero" if self.recorded == "base" else self.recorded
        return f"a frozen copy of {where}"

    def _reference_logits(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        with torch.no_grad(), self.accelerator.autocast():
            if self.adapter_reference:
                peft_model = self.unwrap()
                with peft_model.disable_adapter():
                    return _forward(peft_model, batch)
            return _forward(self.reference, batch)


class Judge(FrozenReference, School):
    """DPO on preference pairs against a frozen reference."""

    name = "judge"

    def __init__(self, job: TrainJob, oracle: Oracle | None) -> None:
        super().__init__(job, oracle)
        opts = school_settings("judge", job.school_options)
        self.beta = float(opts["beta"])
        self.chat_weight = float(opts["sft_weight"])
        self.reference_source = opts["reference"]

    def load_state_dict(self, state: Mapping[str, Any] | None) -> None:
        self._load_recorded(state)

    def state_dict(self) -> dict[str, Any]:
        return {"name": self.name, "reference": self.recorded or "base"}

    def start(
        self, accelerator: Any, unwrap: Callable[[], Any], tokenizer: Any, load_base: Callable[[], Any]
    ) -> list[str]:
        notes = super().start(accelerator, unwrap, tokenizer, load_base)
        if self.oracle is not None:
            notes.append("the Oracle weights the chat examples' tokens; DPO pairs are scored as whole answers")
        notes.append(f"judge: β {self.beta}; reference = {self._load_reference(unwrap(), load_base)}")
        return notes

    def _reference_logps(self, model: Any, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return _sequence_logps(self._reference_logits(batch), batch["labels"])

    def pair_loss(self, model: Any, pairs: list[PreferencePair], pad_id: int, sums: Sums) -> tuple[torch.Tensor, float]:
        n = len(pairs)
        rows = [p.chosen for p in pairs] + [p.rejected for p in pairs]
        device = self.accelerator.device if self.accelerator is not None else "cpu"
        batch = {k: v.to(device) for k, v in collate_padded(rows, pad_id).items()}
        logps = _sequence_logps(_forward(model, batch), batch["labels"])
        ref = self._reference_logps(model, batch)
        chosen_reward = self.beta * (logps[:n] - ref[:n])
        rejected_reward = self.beta * (logps[n:] - ref[n:])
        margin = chosen_reward - rejected_reward
        losses = -F.logsigmoid(margin)
        summed = losses.sum()
        m = margin.detach()
        _add(sums, "dpo_margin", float(m.sum()), n)
        _add(sums, "dpo_accuracy", float((m > 0).sum()), n)
        _add(sums, "chosen_reward", float(chosen_reward.detach().sum()), n)
        _add(sums, "rejected_reward", float(rejected_reward.detach().sum()), n)
        return summed, float(summed.detach())


class Whisper(School):
    """Distillation from a teacher with the same tokenizer."""

    name = "whisper"

    def __init__(self, job: TrainJob, oracle: Oracle | None) -> None:
        super().__init__(job, oracle)
        opts = school_settings("whisper", job.school_options)
        self.teacher_path = Path(opts["teacher"]).expanduser()
        self.temperature = float(opts["temperature"])
        self.alpha = float(opts["alpha"])
        self._inputs: Mapping[str, torch.Tensor] = {}
        self.teacher: Any = None

    def state_dict(self) -> dict[str, Any]:
        return {"name": self.name, "teacher": str(self.teacher_path)}

    def start(
        self, accelerator: Any, unwrap: Callable[[], Any], tokenizer: Any, load_base: Callable[[], Any]
    ) -> list[str]:
        from realm_tui.trainer.entry.export import load_model_folder

        notes = super().start(accelerator, unwrap, tokenizer, load_base)
        teacher, teacher_tokenizer = load_model_folder(self.teacher_path)
        if teacher_tokenizer.get_vocab() != tokenizer.get_vocab():
            raise InputError(
                self.teacher_path,
                "the teacher's tokenizer differs from the hero's: whisper needs the same vocabulary "
                "(a checkpoint of this hero, or a bigger model of the same family)",
            )
        teacher.requires_grad_(False)
        teacher.eval()
        self.teacher = teacher.to(accelerator.device)
        params = sum(p.numel() for p in teacher.parameters())
        notes.append(
            f"whisper: teacher {self.teacher_path.name} ({params:,} parameters), temperature {self.temperature}, "
            f"alpha {self.alpha} (share of plain cross-entropy)"
        )
        return notes

    def per_token_objective(
        self, logits: torch.Tensor, labels: torch.Tensor, ce: torch.Tensor, sums: Sums, count: float
    ) -> torch.Tensor:
        batch_inputs = self._inputs
        with torch.no_grad(), self.accelerator.autocast():
            teacher_logits = _forward(self.teacher, batch_inputs)
        vocab = min(logits.shape[-1], teacher_logits.shape[-1])
        t = self.temperature
        student = torch.log_softmax(logits[..., :vocab] / t, dim=-1)
        teacher = torch.log_softmax(teacher_logits[..., :vocab] / t, dim=-1)
        kl = (teacher.exp() * (teacher - student)).sum(-1) * (t * t)
        kl = torch.where(labels != IGNORE, kl, torch.zeros_like(kl))
        _add(sums, "kl", float(kl.detach().sum()), count)
        return self.alpha * ce + (1 - self.alpha) * kl

    def token_loss(
        self, model: Any, batch: Mapping[str, torch.Tensor], sums: Sums, *, training: bool
    ) -> tuple[torch.Tensor, float]:
        self._inputs = batch
        return super().token_loss(model, batch, sums, training=training)
