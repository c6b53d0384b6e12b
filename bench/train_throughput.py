"""Training throughput: our loop (packing) vs the Hugging Face `Trainer` (padding collator) vs TRL's
`SFTTrainer` with its own packing (BFD, padding-free) — what a user would pick instead.

Same dio-nano model (default size), same examples, same batch (examples per step; for TRL the
packed rows that hold about as many examples), same number of steps and precision, on
(1) variable-length and (2) equal-length chat examples. Prints real (non-pad) tokens trained per
second, measured after a few warm-up steps, the ratios, and the targets (ours ≥ 1.2× TRL packed
and ≥ 1.5× HF on variable-length, ≥ 0.95× both on equal-length). TRL is a bench-only dependency:
`pip install -e '.[bench]'` (without it the TRL side is skipped, said so).

The machine is shared, so the runs are interleaved (ours, HF, TRL, ours, ...) over a few rounds
and each side's figure is its tokens over its time summed across rounds: a burst of someone
else's work lands on both sides alike. Tokens per CPU-second of this process are printed too:
CPU time barely moves when other work competes for the cores, wall time does.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/train_throughput.py [--steps 20] [--rounds 2] [--batch 32]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Idle OpenMP threads sleep instead of spinning: on a shared machine spinning threads steal the
# cores the other side of the comparison needs, and inflate CPU time.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
from transformers import (  # noqa: E402
    AutoModelForCausalLM,
    AutoTokenizer,
    DataCollatorForSeq2Seq,
    Trainer,
    TrainerCallback,
    TrainingArguments,
)
from transformers.utils import logging as hf_logging  # noqa: E402

from realm_tui.contract.protocol import Step, TrainJob  # noqa: E402
from realm_tui.trainer.data import load_quest, pack  # noqa: E402
from realm_tui.trainer.hero import ensure_nano_base  # noqa: E402
from realm_tui.trainer.loop import run_battle  # noqa: E402

HERO = {"id": "dio-nano", "model": {"builder": "nano"}}
MAX_LENGTH = 256
WARMUP = 3  # steps excluded from the measurement (allocator and kernel warm-up)


def circled(n: int, width: int) -> str:
    return format(n, f"0{width}b").replace("0", "⓪").replace("1", "①")


def variable_examples(n: int, rng: random.Random) -> list[dict[str, Any]]:
    """BIN-style problems with 2–24-bit operands and an optional system line: ~25–170 tokens."""
    out = []
    for _ in range(n):
        w = rng.randint(2, 24)
        a, b = rng.randrange(2**w), rng.randrange(2**w)
        msgs = [
            {"role": "user", "content": f"add {circled(a, w)} {circled(b, w)}"},
            {"role": "assistant", "content": circled(a + b, w + 1)},
        ]
        if rng.random() < 0.5:
            msgs.insert(0, {"role": "system", "content": "You are a careful binary calculator. Answer only."})
        out.append({"messages": msgs})
    return out


def equal_examples(n: int, rng: random.Random) -> list[dict[str, Any]]:
    """Same shape every time (character-level tokens: identical lengths, ~55 tokens)."""
    out = []
    for _ in range(n):
        a, b = rng.randrange(2**10), rng.randrange(2**10)
        msgs = [
            {"role": "user", "content": f"add {circled(a, 10)} {circled(b, 10)}"},
            {"role": "assistant", "content": circled(a + b, 11)},
        ]
        out.append({"messages": msgs})
    return out


def write_quest(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def bench_ours(realm: Path, quest: Path, steps: int, batch: int, precision: str) -> tuple[int, float, float]:
    """(real tokens, wall seconds, CPU seconds) over the steps after warm-up."""
    job = TrainJob(
        realm_root=str(realm),
        hero_id="dio-nano",
        hero=HERO,
        quest_paths=(str(quest),),
        checkpoints_dir=str(realm / "saves" / "checkpoints" / quest.stem),
        max_steps=steps,
        batch_size=batch,
        learning_rate=1e-3,
        warmup_steps=2,
        max_length=MAX_LENGTH,
        packing=True,
        precision=precision,
        save_steps=10**9,
        save_minutes=0.0,
        val_fraction=0.0,
        quest_passes=1000.0,  # a timed run of `steps` steps, even past one epoch of the quest
    )
    marks: list[tuple[int, float, float]] = []  # (tokens so far, wall, cpu) at each step end

    def emit(event: Any) -> None:
        if isinstance(event, Step):
            marks.append((event.tokens, time.perf_counter(), time.process_time()))

    stopped = run_battle(job, emit)
    assert stopped.reason == "finished", stopped
    (t0, w0, c0), (t1, w1, c1) = marks[WARMUP - 1], marks[-1]
    return t1 - t0, w1 - w0, c1 - c0


class _Clock(TrainerCallback):
    def __init__(self) -> None:
        self.ends: list[tuple[float, float]] = []

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.ends.append((time.perf_counter(), time.process_time()))


def bench_hf(base: Path, realm: Path, quest: Path, steps: int, batch: int, precision: str) -> tuple[int, float, float]:
    tokenizer = AutoTokenizer.from_pretrained(base)
    data = load_quest([quest], tokenizer, MAX_LENGTH, seed=0, val_fraction=0.0)
    # Labels as HF expects them: unshifted, -100 off the assistant turns (the model shifts).
    dataset = [{"input_ids": list(e.input_ids), "labels": list(e.labels)} for e in data.train]
    tokens_per_batch: list[int] = []
    collator = DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=-100)

    def collate(features: list[dict[str, Any]]) -> dict[str, Any]:
        out = collator(features)
        tokens_per_batch.append(int(out["attention_mask"].sum()))
        return out

    model = AutoModelForCausalLM.from_pretrained(base, attn_implementation="sdpa", dtype=torch.float32)
    model.config.use_cache = False
    args = TrainingArguments(
        output_dir=str(realm / "hf-out"),
        per_device_train_batch_size=batch,
        max_steps=steps,
        learning_rate=1e-3,
        warmup_steps=2,
        lr_scheduler_type="constant_with_warmup",
        max_grad_norm=1.0,
        bf16=precision == "bf16",
        use_cpu=True,
        save_strategy="no",
        logging_strategy="no",
        report_to=[],
        disable_tqdm=True,
        dataloader_num_workers=0,
        remove_unused_columns=False,
        seed=0,
    )
    clock = _Clock()
    trainer = Trainer(model=model, args=args, train_dataset=dataset, data_collator=collate, callbacks=[clock])
    trainer.train()
    del trainer, model
    tokens = sum(tokens_per_batch[WARMUP:steps])  # batch k is collated for step k, in order
    (w0, c0), (w1, c1) = clock.ends[WARMUP - 1], clock.ends[steps - 1]
    return tokens, w1 - w0, c1 - c0


def trl_available() -> bool:
    try:
        import trl  # noqa: F401
    except ImportError:
        return False
    return True


def bench_trl(base: Path, realm: Path, quest: Path, steps: int, batch: int, precision: str) -> tuple[int, float, float]:
    """TRL `SFTTrainer`, its own packing (`packing=True`: BFD into `max_length` rows, padding-free,
    position ids restarting per example), on the same tokenized examples and assistant-only labels."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    tokenizer = AutoTokenizer.from_pretrained(base)
    data = load_quest([quest], tokenizer, MAX_LENGTH, seed=0, val_fraction=0.0)
    dataset = Dataset.from_list([{"input_ids": list(e.input_ids), "labels": list(e.labels)} for e in data.train])
    # TRL batches packed rows: as many rows as hold `batch` examples (our packer's rows per example).
    rows = len(pack(data.train, MAX_LENGTH))
    row_batch = max(1, round(batch * rows / len(data.train)))
    model = AutoModelForCausalLM.from_pretrained(base, attn_implementation="sdpa", dtype=torch.float32)
    model.config.use_cache = False
    args = SFTConfig(
        output_dir=str(realm / "trl-out"),
        per_device_train_batch_size=row_batch,
        max_steps=steps,
        learning_rate=1e-3,
        warmup_steps=2,
        lr_scheduler_type="constant_with_warmup",
        max_grad_norm=1.0,
        bf16=precision == "bf16",
        use_cpu=True,
        save_strategy="no",
        logging_strategy="no",
        report_to=[],
        disable_tqdm=True,
        dataloader_num_workers=0,
        seed=0,
        packing=True,
        max_length=MAX_LENGTH,
        gradient_checkpointing=False,  # TRL turns it on by default; ours and HF run without it
        dataset_num_proc=None,
    )
    clock = _Clock()
    trainer = SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer, callbacks=[clock])
    collate = trainer.data_collator
    tokens_per_batch: list[int] = []

    def counting(features: list[dict[str, Any]]) -> dict[str, Any]:
        out = collate(features)
        mask = out.get("attention_mask")
        tokens_per_batch.append(int(mask.sum()) if mask is not None else int(out["input_ids"].numel()))
        return out

    trainer.data_collator = counting
    trainer.train()
    del trainer, model
    tokens = sum(tokens_per_batch[WARMUP:steps])
    (w0, c0), (w1, c1) = clock.ends[WARMUP - 1], clock.ends[steps - 1]
    return tokens, w1 - w0, c1 - c0


TARGETS = {("variable-length", "trl"): 1.2, ("variable-length", "hf"): 1.5}
EQUAL_TARGET = 0.95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--examples", type=int, default=600)
    parser.add_argument("--precision", choices=("bf16", "fp32"), default="bf16")
    opts = parser.parse_args()
    torch.set_num_threads(2)
    hf_logging.set_verbosity_error()
    rng = random.Random(0)
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="realm-bench-") as tmp:
        realm = Path(tmp)
        for d in ("configs", "quests", "saves"):
            (realm / d).mkdir()
        base = ensure_nano_base("dio-nano", None, realm)
        quests = {
            "variable-length": write_quest(realm / "variable.jsonl", variable_examples(opts.examples, rng)),
            "equal-length": write_quest(realm / "equal.jsonl", equal_examples(opts.examples, rng)),
        }
        print(
            f"dio-nano (default size), batch {opts.batch} examples/step, {opts.steps} steps "
            f"({WARMUP} warm-up not timed), {opts.precision}, {torch.get_num_threads()} threads, "
            f"{opts.rounds} interleaved rounds"
        )
        sides = ("ours", "hf", "trl") if trl_available() else ("ours", "hf")
        if "trl" not in sides:
            print("TRL is not installed: the SFTTrainer side is skipped (pip install -e '.[bench]')")
        runners = {"ours": lambda q: bench_ours(realm, q, opts.steps, opts.batch, opts.precision)}
        runners["hf"] = lambda q: bench_hf(base, realm, q, opts.steps, opts.batch, opts.precision)
        runners["trl"] = lambda q: bench_trl(base, realm, q, opts.steps, opts.batch, opts.precision)
        totals = {(name, side): [0, 0.0, 0.0] for name in quests for side in sides}
        for round_no in range(1, opts.rounds + 1):
            for name, quest in quests.items():
                got = {side: runners[side](quest) for side in sides}
                shown = ", ".join(
                    f"{side} {t / w:6.0f} tok/s ({t / c:6.0f} tok/cpu-s)" for side, (t, w, c) in got.items()
                )
                print(f"  round {round_no} {name:>15}: {shown}", flush=True)
                for side in sides:
                    totals[name, side] = [a + b for a, b in zip(totals[name, side], got[side], strict=True)]
        print("all rounds:")
        labels = {"hf": "HF Trainer (padding collator)", "trl": "TRL SFTTrainer (packing)"}
        for name in quests:
            ot, ow, oc = totals[name, "ours"]
            line = f"{name:>16}: ours (packing) {ot / ow:6.0f} tok/s"
            for side in sides[1:]:
                t, w, c = totals[name, side]
                ratio, cpu_ratio = (ot / ow) / (t / w), (ot / oc) / (t / c)
                target = TARGETS.get((name, side), EQUAL_TARGET if name == "equal-length" else None)
                verdict = "" if target is None else f" (target ≥ {target}x: {'met' if ratio >= target else 'MISSED'})"
                line += (
                    f" | {labels[side]} {t / w:6.0f} tok/s, ratio {ratio:.2f}x{verdict} [per CPU-s {cpu_ratio:.2f}x]"
                )
            print(line)
    print(f"(bench took {time.time() - started:.0f} s)")


if __name__ == "__main__":
    main()
