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
        [--checkpoint FOLDER] [--batch 128] [--rounds 2] [--threads 2] [--sides eval,single,plain]

Without --checkpoint the dio-nano base hero answers (built in a temp realm): its answers are
garbage, right at no problem. A checkpoint that gets some answers right shows the guesses at work.
One-at-a-time SY is slow (minutes): `--sides eval,plain` leaves it out.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from realm_tui.config.realm_config import load_hero  # noqa: E402
from realm_tui.skills import get_skill  # noqa: E402
from realm_tui.trainer.answer import load_for_inference  # noqa: E402
from realm_tui.trainer.data import ChatFormat  # noqa: E402
from realm_tui.trainer.evaluate import (  # noqa: E402
    EVAL_BATCH,
    answer_budget,
    inference_mode,
    prompt_ids,
    score_problems,
    stop_token_ids,
)

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skill", default="bin")
    parser.add_argument("--level", type=int, default=3)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--hero", default="dio-nano")
    parser.add_argument("--batch", type=int, default=EVAL_BATCH)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sides", default="eval,single,plain", help="eval (batched), single (eval, batch 1), plain")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    hero = load_hero(REPO / "configs", args.hero).model_dump(mode="json")
    with tempfile.TemporaryDirectory(prefix="realm-evalbench-") as tmp:
        (Path(tmp) / "saves").mkdir()
        model, tokenizer = load_for_inference(hero, Path(tmp), args.checkpoint)
    chat = ChatFormat.from_hero(hero)
    skill = get_skill(args.skill)
    problems = skill.heldout_eval_set(args.level, args.samples)
    budgets = [answer_budget(p, tokenizer) for p in problems]
    print(
        f"{args.hero} ({sum(p.numel() for p in model.parameters()):,} parameters), {len(problems)} {args.skill} "
        f"L{args.level} problems, budgets {min(budgets)}-{max(budgets)} new tokens, {args.threads} threads"
        + (f", checkpoint {args.checkpoint.name}" if args.checkpoint else ", base hero")
    )

    def plain() -> list[bool]:
        """Greedy decoding of every row to its end, sorted by budget and batched as evals were."""
        stops = stop_token_ids(tokenizer, chat)
        order = sorted(range(len(problems)), key=lambda i: budgets[i])
        verdicts = [False] * len(problems)
        for start in range(0, len(order), args.batch):
            rows = order[start : start + args.batch]
            new = plain_greedy(
                model,
                [prompt_ids(problems[i].messages()[:-1], tokenizer, chat) for i in rows],
                [budgets[i] for i in rows],
                int(tokenizer.pad_token_id),
                stops,
            )
            for i, ids in zip(rows, new, strict=True):
                verdicts[i] = skill.score(problems[i], tokenizer.decode(ids, skip_special_tokens=True))
        return verdicts

    def evals(batch: int) -> Callable[[], list[bool]]:
        def run() -> list[bool]:
            scored = score_problems(model, tokenizer, skill, problems, chat=chat, batch_size=batch)
            return [bool(r["correct"]) for r in scored.results]

        return run

    sides: dict[str, Callable[[], list[bool]]] = {"eval": evals(args.batch), "single": evals(1), "plain": plain}
    chosen = [s.strip() for s in args.sides.split(",") if s.strip()]
    evals(args.batch)()  # warm-up (allocator, kernels)
    totals = dict.fromkeys(chosen, 0.0)
    cpu = dict.fromkeys(chosen, 0.0)
    verdicts: dict[str, list[bool]] = {}
    for r in range(args.rounds):
        for side in chosen:
            started, started_cpu = time.perf_counter(), time.process_time()
            verdicts[side] = sides[side]()
            seconds, cpu_s = time.perf_counter() - started, time.process_time() - started_cpu
            totals[side] += seconds
            cpu[side] += cpu_s
            print(
                f"  round {r + 1}: {side:>6}: {len(problems) / seconds:8.1f} problems/s "
                f"({seconds:.1f} s, {cpu_s:.1f} CPU-s)"
            )
    rate = {side: len(problems) * args.rounds / totals[side] for side in chosen}
    per_cpu = {side: len(problems) * args.rounds / cpu[side] for side in chosen}
    for side in chosen:
        print(f"{side:>6}: {rate[side]:8.1f} problems/s, {per_cpu[side]:8.1f} problems per CPU-s")
    for a, b, label in (
        ("eval", "single", "eval batched / one at a time"),
        ("eval", "plain", "eval batched / plain greedy (before)"),
    ):
        if a in rate and b in rate:
            print(f"{label}: {rate[a] / rate[b]:.1f}x wall clock, {per_cpu[a] / per_cpu[b]:.1f}x CPU time")
    first = verdicts[chosen[0]]
    print(f"identical verdicts: {all(v == first for v in verdicts.values())}; right {sum(first)}/{len(problems)}")


if __name__ == "__main__":
    main()
