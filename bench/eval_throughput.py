"""Eval generation throughput: batched (left-padded, KV cache) vs one problem at a time.

Same hero, same held-out problems, same greedy decoding and token budgets (the eval's own:
expected answer length + margin). Prints problems/s for each, the ratio, and whether the answers
are identical. The machine is shared, so the two sides are interleaved over a few rounds and each
side's figure is its problems over its summed time.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/eval_throughput.py [--skill bin --level 3 --samples 100]
        [--checkpoint FOLDER] [--batch 64] [--rounds 2] [--threads 2]

Without --checkpoint the dio-nano base hero answers (built in a temp realm); its answers are
garbage of full budget length, the slowest case for both sides.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from realm_tui.config.realm_config import load_hero  # noqa: E402
from realm_tui.skills import get_skill  # noqa: E402
from realm_tui.trainer.answer import load_for_inference  # noqa: E402
from realm_tui.trainer.data import ChatFormat  # noqa: E402
from realm_tui.trainer.evaluate import EVAL_BATCH, answer_budget, score_problems  # noqa: E402

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
    )

    def run(batch: int) -> tuple[list[str], float, float]:
        started, cpu = time.perf_counter(), time.process_time()
        scored = score_problems(model, tokenizer, skill, problems, chat=chat, batch_size=batch)
        return [r["got"] for r in scored.results], time.perf_counter() - started, time.process_time() - cpu

    run(args.batch)  # warm-up (allocator, kernels)
    totals = {args.batch: 0.0, 1: 0.0}
    cpu_totals = {args.batch: 0.0, 1: 0.0}
    answers: dict[int, list[str]] = {}
    for r in range(args.rounds):
        for batch in (args.batch, 1):
            answers[batch], seconds, cpu = run(batch)
            totals[batch] += seconds
            cpu_totals[batch] += cpu
            print(f"  round {r + 1}: batch {batch:>3}: {len(problems) / seconds:8.1f} problems/s")
    batched = len(problems) * args.rounds / totals[args.batch]
    single = len(problems) * args.rounds / totals[1]
    same = answers[args.batch] == answers[1]
    differ = sum(1 for a, b in zip(answers[args.batch], answers[1], strict=True) if a != b)
    correct = sum(1 for p, a in zip(problems, answers[1], strict=True) if skill.score(p, a))
    print(f"batched (batch {args.batch}): {batched:.1f} problems/s")
    print(f"one at a time:          {single:.1f} problems/s")
    print(f"ratio:                  {batched / single:.1f}x")
    cpu_ratio = cpu_totals[1] / cpu_totals[args.batch]
    print(f"ratio by CPU time:      {cpu_ratio:.1f}x (steadier when others share the machine)")
    print(f"identical answers:      {same}" + ("" if same else f" ({differ} of {len(problems)} differ)"))
    print(f"accuracy (one at a time): {correct}/{len(problems)}")


if __name__ == "__main__":
    main()
