"""Eval throughput: the eval path (`score_problems`: guesses checked in the prefill, finished and
hopeless rows leave the batch) batched and one problem at a time, against plain greedy decoding
(the eval path before issue 11: every row decoded to its stop token or budget, batched).

Same hero, same held-out problems, same token budgets (the eval's own: expected answer length +
margin). Prints problems/s per side, the ratios, and whether the verdicts are identical. The
machine is shared, so the sides are interleaved over a few rounds and each side's figure is its
problems over its summed time.

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
    generate_ids,
    prompt_ids,
    score_problems,
    stop_token_ids,
)

REPO = Path(__file__).resolve().parents[1]


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
            new = generate_ids(
                model,
                [prompt_ids(problems[i].messages()[:-1], tokenizer, chat) for i in rows],
                max_new_tokens=[budgets[i] for i in rows],
                pad_id=int(tokenizer.pad_token_id),
                stop_ids=stops,
                shrink=False,
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
    verdicts: dict[str, list[bool]] = {}
    for r in range(args.rounds):
        for side in chosen:
            started = time.perf_counter()
            verdicts[side] = sides[side]()
            seconds = time.perf_counter() - started
            totals[side] += seconds
            print(f"  round {r + 1}: {side:>6}: {len(problems) / seconds:8.1f} problems/s ({seconds:.1f} s)")
    rate = {side: len(problems) * args.rounds / totals[side] for side in chosen}
    for side in chosen:
        print(f"{side:>6}: {rate[side]:8.1f} problems/s")
    if "eval" in rate and "single" in rate:
        print(f"eval batched / one at a time: {rate['eval'] / rate['single']:.1f}x")
    if "eval" in rate and "plain" in rate:
        print(f"eval batched / plain greedy (before): {rate['eval'] / rate['plain']:.1f}x")
    first = verdicts[chosen[0]]
    print(f"identical verdicts: {all(v == first for v in verdicts.values())}; right {sum(first)}/{len(problems)}")


if __name__ == "__main__":
    main()
