"""Eval throughput: the eval path (`score_problems`: a shared prefix cache, guesses checked in the
prefill, finished and hopeless rows leave the batch, an in-place KV cache) batched and one problem
at a time, against plain greedy decoding as evals did it before issue 11 (`plain`: a copy of that
loop, kept here so today's changes to `generate_ids` do not speed it up: every row decoded to its
stop token or budget, batched, transformers' default cache).

Same hero, same held-out problems, same token budgets (the eval's own: expected answer length +
margin). Prints problems/s per side (wall clock, and CPU seconds of this process), the ratios, and
whether the verdicts are identical. The machine is shared, so the sides are interleaved over a
few rounds and each side's figure is its problems over its summed time; the CPU-time ratio is
the steadier one on a busy machine.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/eval_throughput.py [--skill bin --level 3 --samples 100]
        [--checkpoint FOLDER] [--heroes base,trained] [--batch 128] [--rounds 2] [--threads 2]
        [--sides eval,single,plain]

Two heroes answer in one run, their rounds interleaved: `base`, the dio-nano base hero (built in a
temp realm; its answers are garbage, right at no problem, so no expected answer is ever confirmed
as a draft), and `trained`, the same hero after a short fine-tune on BIN levels 1-3 and a few SY
puzzles (`--train-steps`; built once and cached under ~/.cache/realm-bench/eval-throughput/): some
BIN answers right, SY answers that start like the expected JSON and then go wrong, as in a first
battle. `--checkpoint FOLDER` replaces the trained hero with a battle's checkpoint.
One-at-a-time SY is slow (minutes): `--sides eval,plain` leaves it out.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import hashlib
import json
import os
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# As the trainer child, where battles run their evals (trainer/threads.py): OpenMP threads sleep
# instead of spinning, and glibc keeps freed buffers mapped (an eval's caches are not faulted in
# and zero-filled again each time). Both before torch is imported.
from realm_tui.trainer.threads import configure_malloc, configure_openmp  # noqa: E402

configure_openmp()
configure_malloc()

import torch  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402

from realm_tui.config.realm_config import load_hero  # noqa: E402
from realm_tui.skills import get_skill  # noqa: E402
from realm_tui.trainer.answer import load_for_inference  # noqa: E402
from realm_tui.trainer.data import ChatFormat, tokenize_chat  # noqa: E402
from realm_tui.trainer.evaluate import (  # noqa: E402
    EVAL_BATCH,
    answer_budget,
    inference_mode,
    prompt_ids,
    score_problems,
    stop_token_ids,
)
from realm_tui.trainer.runtime import resolve_precision  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def plain_greedy(
    model: Any, prompts: list[list[int]], limits: list[int], pad_id: int, stops: set[int]
) -> list[list[int]]:
    """`generate_ids` as it was before issue 11 (commit 0386bb9): left-padded prefill of whole
    prompts, transformers' default KV cache, every row decoded until all are done."""
    rows, width = len(prompts), max(len(p) for p in prompts)
    ids = torch.full((rows, width), pad_id, dtype=torch.long)
    mask = torch.zeros((rows, width), dtype=torch.long)
    for r, p in enumerate(prompts):
        ids[r, width - len(p) :] = torch.tensor(p, dtype=torch.long)
        mask[r, width - len(p) :] = 1
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    produced: list[list[int]] = [[] for _ in range(rows)]
    done = [limit <= 0 for limit in limits]
    with inference_mode(model):
        out = model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True, logits_to_keep=1)
        next_pos = positions[:, -1:] + 1
        while True:
            tokens = out.logits[:, -1, :].argmax(dim=-1)
            for r, tok in enumerate(tokens.tolist()):
                if done[r]:
                    continue
                if tok in stops:
                    done[r] = True
                else:
                    produced[r].append(tok)
                    done[r] = len(produced[r]) >= limits[r]
            if all(done):
                return produced
            mask = torch.cat([mask, mask.new_ones((rows, 1))], dim=1)
            out = model(
                input_ids=tokens.unsqueeze(-1),
                attention_mask=mask,
                position_ids=next_pos,
                past_key_values=out.past_key_values,
                use_cache=True,
                logits_to_keep=1,
            )
            next_pos = next_pos + 1


TRAIN_SETTINGS = {
    "lr": 2e-3,
    "warmup": 20,
    "clip": 1.0,
    "bin_rows": 64,
    "sy_rows": 2,
    "sy_every": 2,
    "sy_puzzles": 4,
    "seed": 0,
}
"""What the trained hero's fine-tune does (part of its cache key)."""


def _batch(examples: list[Any], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(e.input_ids) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), -100, dtype=torch.long)
    for r, e in enumerate(examples):
        ids[r, : len(e.input_ids)] = torch.tensor(e.input_ids)
        labels[r, : len(e.labels)] = torch.tensor(e.labels)
    return ids, labels


def fine_tune(model: Any, tokenizer: Any, chat: ChatFormat, steps: int) -> None:
    """A short fine-tune in place: 64 BIN problems of levels 1-3 every step, two of four SY L1 puzzles every
    other step (the JSON's shape, learnt by heart), AdamW as dio-nano trains (warm-up, clipping)."""
    torch.manual_seed(TRAIN_SETTINGS["seed"])
    bin_, sy = get_skill("bin"), get_skill("sy")
    bins = [p for level in (1, 2, 3) for p in bin_.generate(level, 2000, seed=level)]
    sys_ = sy.generate(1, TRAIN_SETTINGS["sy_puzzles"], seed=11)
    optimizer = torch.optim.AdamW(model.parameters(), lr=TRAIN_SETTINGS["lr"], weight_decay=0.1)
    warmup = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / TRAIN_SETTINGS["warmup"]))
    pad = int(tokenizer.pad_token_id)
    model.train()
    for step in range(steps):
        rng = random.Random(step)
        batches = [rng.sample(bins, TRAIN_SETTINGS["bin_rows"])]
        if step % TRAIN_SETTINGS["sy_every"] == 0:
            batches.append(rng.sample(sys_, TRAIN_SETTINGS["sy_rows"]))
        for problems in batches:
            ids, labels = _batch([tokenize_chat(p.messages(), tokenizer, 1024, chat) for p in problems], pad)
            model(input_ids=ids, labels=labels).loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), TRAIN_SETTINGS["clip"])
        optimizer.step()
        warmup.step()
        optimizer.zero_grad()
    model.eval()


def trained_hero(base: Any, tokenizer: Any, chat: ChatFormat, hero: str, steps: int, cache: Path) -> Any:
    """A copy of `base` after `fine_tune`, its weights cached (keyed by hero and settings)."""
    key = hashlib.sha256(json.dumps([hero, steps, TRAIN_SETTINGS], sort_keys=True).encode()).hexdigest()[:16]
    weights = cache / key / "model.safetensors"
    model = copy.deepcopy(base)
    if weights.exists():
        model.load_state_dict(load_file(str(weights)), strict=False)
        print(f"trained hero: cached {weights}")
        return model.eval()
    started = time.perf_counter()
    fine_tune(model, tokenizer, chat, steps)
    weights.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().clone() for k, v in model.state_dict().items()}, str(weights))
    print(f"trained hero: {steps} steps in {time.perf_counter() - started:.0f} s, cached in {weights}")
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skill", default="bin")
    parser.add_argument("--level", type=int, default=3)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--checkpoint", type=Path, default=None, help="a checkpoint as the trained hero")
    parser.add_argument("--heroes", default="base,trained")
    parser.add_argument("--train-steps", type=int, default=400)
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache" / "realm-bench" / "eval-throughput")
    parser.add_argument("--hero", default="dio-nano")
    parser.add_argument("--batch", type=int, default=EVAL_BATCH)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sides", default="eval,single,plain", help="eval (batched), single (eval, batch 1), plain")
    parser.add_argument(
        "--precision", default="auto", choices=("auto", "fp32", "bf16"),
        help="auto: as a battle on this machine evaluates (bf16 autocast where the CPU has native bf16)",
    )  # fmt: skip
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    precision = resolve_precision(args.precision)

    hero = load_hero(REPO / "configs", args.hero).model_dump(mode="json")
    chat = ChatFormat.from_hero(hero)
    models: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="realm-evalbench-") as tmp:
        (Path(tmp) / "saves").mkdir()
        base, tokenizer = load_for_inference(hero, Path(tmp), None)
        chosen_heroes = [h.strip() for h in args.heroes.split(",") if h.strip()]
        if "base" in chosen_heroes:
            models["base"] = base
        if "trained" in chosen_heroes and args.checkpoint is not None:
            models["trained"] = load_for_inference(hero, Path(tmp), args.checkpoint)[0]
        elif "trained" in chosen_heroes:
            models["trained"] = trained_hero(base, tokenizer, chat, args.hero, args.train_steps, args.cache_dir)
    skill = get_skill(args.skill)
    problems = skill.heldout_eval_set(args.level, args.samples)
    budgets = [answer_budget(p, tokenizer) for p in problems]
    print(
        f"{args.hero} ({sum(p.numel() for p in base.parameters()):,} parameters), {len(problems)} {args.skill} "
        f"L{args.level} problems, budgets {min(budgets)}-{max(budgets)} new tokens, {args.threads} threads, "
        + ", ".join(models)
        + (f" (trained = checkpoint {args.checkpoint.name})" if args.checkpoint else "")
        + f", {precision}"
        + (" autocast, as battles here evaluate" if precision == "bf16" else "")
    )
    chosen = [s.strip() for s in args.sides.split(",") if s.strip()]
    runs = {
        name: Sides(model, tokenizer, chat, skill, problems, budgets, args.batch, precision)
        for name, model in models.items()
    }
    for run in runs.values():
        with run.autocast():
            run.sides["eval"]()  # warm-up (allocator, kernels)
    for r in range(args.rounds):
        for name, run in runs.items():
            for side in chosen:
                run.time(side, f"round {r + 1}: {name:>7} {side:>6}")
    for name, run in runs.items():
        run.report(name, chosen, args.rounds)


class Sides:
    """One hero's sides (eval batched, eval one at a time, plain greedy) and their summed times."""

    def __init__(
        self, model: Any, tokenizer: Any, chat: ChatFormat, skill: Any, problems: list[Any], budgets: list[int],
        batch: int, precision: str,
    ) -> None:  # fmt: skip
        self.model, self.tokenizer, self.chat, self.skill = model, tokenizer, chat, skill
        self.precision = precision
        self.problems, self.budgets, self.batch = problems, budgets, batch
        self.sides: dict[str, Callable[[], list[bool]]] = {
            "eval": self.evals(batch), "single": self.evals(1), "plain": self.plain,
        }  # fmt: skip
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.verdicts: dict[str, list[bool]] = {}

    def plain(self) -> list[bool]:
        """Greedy decoding of every row to its end, sorted by budget and batched as evals were."""
        problems, budgets, tokenizer = self.problems, self.budgets, self.tokenizer
        stops = stop_token_ids(tokenizer, self.chat)
        order = sorted(range(len(problems)), key=lambda i: budgets[i])
        verdicts = [False] * len(problems)
        for start in range(0, len(order), self.batch):
            rows = order[start : start + self.batch]
            new = plain_greedy(
                self.model,
                [prompt_ids(problems[i].messages()[:-1], tokenizer, self.chat) for i in rows],
                [budgets[i] for i in rows],
                int(tokenizer.pad_token_id),
                stops,
            )
            for i, ids in zip(rows, new, strict=True):
                verdicts[i] = self.skill.score(problems[i], tokenizer.decode(ids, skip_special_tokens=True))
        return verdicts

    def evals(self, batch: int) -> Callable[[], list[bool]]:
        def run() -> list[bool]:
            scored = score_problems(
                self.model, self.tokenizer, self.skill, self.problems, chat=self.chat, batch_size=batch
            )
            return [bool(r["correct"]) for r in scored.results]

        return run

    def autocast(self) -> Any:
        """bf16 autocast as accelerate runs a battle's forward calls, or nothing (fp32)."""
        if self.precision == "bf16":
            return torch.autocast(next(self.model.parameters()).device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def time(self, side: str, label: str) -> None:
        started, started_cpu = time.perf_counter(), time.process_time()
        with self.autocast():
            self.verdicts[side] = self.sides[side]()
        seconds, cpu_s = time.perf_counter() - started, time.process_time() - started_cpu
        self.wall[side] = self.wall.get(side, 0.0) + seconds
        self.cpu[side] = self.cpu.get(side, 0.0) + cpu_s
        print(f"  {label}: {len(self.problems) / seconds:8.1f} problems/s ({seconds:.1f} s, {cpu_s:.1f} CPU-s)")

    def report(self, name: str, chosen: list[str], rounds: int) -> None:
        n = len(self.problems) * rounds
        rate = {side: n / self.wall[side] for side in chosen}
        per_cpu = {side: n / self.cpu[side] for side in chosen}
        print(f"{name} hero:")
        for side in chosen:
            print(f"  {side:>6}: {rate[side]:8.1f} problems/s, {per_cpu[side]:8.1f} problems per CPU-s")
        for a, b, label in (
            ("eval", "single", "eval batched / one at a time"),
            ("eval", "plain", "eval batched / plain greedy (before)"),
        ):
            if a in rate and b in rate:
                print(
                    f"  {name}: {label}: {rate[a] / rate[b]:.1f}x wall clock, {per_cpu[a] / per_cpu[b]:.1f}x CPU time"
                )
        first = self.verdicts[chosen[0]]
        same = all(v == first for v in self.verdicts.values())
        print(f"  {name}: identical verdicts: {same}; right {sum(first)}/{len(self.problems)}")


if __name__ == "__main__":
    main()
