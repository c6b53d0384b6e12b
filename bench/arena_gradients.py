"""Which part of the Arena's policy gradient carries the signal? From one checkpoint (an SFT
checkpoint, as the Arena starts from), on the same BIN training problems:

- the gradient of the Arena's loss (its own `rollout` → `_policy_chunks` → `_policy_loss`, the
  defaults but with every answer: `negative_weight` 1), split into the answers above their
  group's mean (positive advantages) and those below (negative ones);
- for two draws of the same problems: the cosine between the draws' positive parts and between
  their negative parts (a part that is signal points the same way twice; noise does not), and
  the cosine of each with the SFT gradient of the same problems' gold answers;
- the gradients' norms against the checkpoint's Adam second moments (sqrt of their sum: the RMS
  gradient norm the optimizer's steps are normalised by), which an arena resumed without a fresh
  optimizer inherits;
- how many positive-advantage answers are right (the rest: wrong ones lifted by partial credit).

    python bench/arena_gradients.py CHECKPOINT [--level 3] [--problems 32] [--batches 4]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import types
from dataclasses import replace
from pathlib import Path
from typing import Any

from realm_tui.services.init_realm import init_realm
from realm_tui.skills.registry import realm_skill


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--level", type=int, default=3)
    parser.add_argument("--problems", type=int, default=32)
    parser.add_argument("--seed", type=int, default=5, help="the first training batch of problems")
    parser.add_argument("--batches", type=int, default=4, help="batches of problems (each drawn twice)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    from realm_tui.trainer.threads import configure_openmp

    configure_openmp()
    import torch

    torch.set_num_threads(args.threads)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import arena as bench  # bench/arena.py: the bench's job for dio-nano

    from realm_tui.trainer.answer import load_for_inference
    from realm_tui.trainer.arena_school import Arena, Challenge
    from realm_tui.trainer.data import IGNORE, Example, collate_padded
    from realm_tui.trainer.evaluate import prompt_ids, stop_token_ids
    from realm_tui.trainer.optim_setup import make_job_optimizer
    from realm_tui.trainer.schools import _forward, _token_ce

    realm, _ = init_realm(Path(tempfile.mkdtemp(prefix="realm-arena-gradients-")))
    job = bench.base_job(realm.root, args.level, 0.2, small=False, batch=None)
    job = replace(job, school="arena", school_options={"negative_weight": 1, "problems": args.problems})
    model, tokenizer = load_for_inference(job.hero, realm.root, args.checkpoint, job.memory_profile)
    model.train()
    # The optimizer's parameter order (its state is keyed by it), to pair gradients with moments.
    params = [p for g in make_job_optimizer(job, model, "full")[0].param_groups for p in g["params"]]
    saved = torch.load(args.checkpoint / "trainer_state.pt", weights_only=False)["optimizer"]["state"]
    second = [saved[i]["exp_avg_sq"] for i in range(len(params))] if len(saved) == len(params) else []

    school = Arena(job, None)
    school.tokenizer = tokenizer
    school.stops = stop_token_ids(tokenizer, school.chat)
    school.pad_id = int(tokenizer.pad_token_id)
    school.unwrap = lambda: model
    school.accelerator = types.SimpleNamespace(device=torch.device("cpu"))
    skill = realm_skill("bin", realm.configs)

    def grads(loss_of: Any) -> list[torch.Tensor]:
        model.zero_grad()
        loss_of()
        return [p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p) for p in params]

    def part(parts: list[dict[str, Any]], keep: Any) -> list[torch.Tensor]:
        def loss() -> None:
            for chunk in parts:
                rows = [r for r in chunk["rows"] if keep(r[2])]
                if rows:
                    school._policy_loss(model, dict(chunk, rows=rows), {}).backward()

        return grads(loss)

    def gold_loss(problems: list[Any]) -> None:
        stop = next(iter(school.stops))
        examples = []
        for p in problems:
            prompt = prompt_ids(p.messages()[:-1], tokenizer, school.chat)
            answer = tokenizer(p.expected, add_special_tokens=False)["input_ids"] + [stop]
            examples.append(Example(tuple(prompt + answer), tuple([IGNORE] * len(prompt) + answer)))
        batch = collate_padded(examples, school.pad_id)
        (_token_ce(_forward(model, batch), batch["labels"]).sum() / int((batch["labels"] != IGNORE).sum())).backward()

    def norm(g: list[torch.Tensor]) -> float:
        return float(sum(float((x**2).sum()) for x in g)) ** 0.5

    def cos(a: list[torch.Tensor], b: list[torch.Tensor]) -> float:
        return sum(float((x * y).sum()) for x, y in zip(a, b, strict=True)) / (norm(a) * norm(b) + 1e-12)

    figures: dict[str, list[float]] = {}
    right = wrong = 0
    for batch_no in range(args.batches):
        problems = skill.training_batch(args.level, args.problems, args.seed + batch_no)
        challenges = [Challenge((), (), p) for p in problems]
        sft = grads(lambda batch=problems: gold_loss(batch))
        draws = []
        for _ in range(2):
            rollout = school.rollout(challenges)
            parts = school._policy_chunks(rollout, args.problems)
            correct = rollout.correct.flatten().tolist()
            for chunk in parts:
                for r, _, a in chunk["rows"]:
                    if a > 0:
                        right, wrong = right + bool(correct[r]), wrong + (not correct[r])
            draws.append((part(parts, lambda a: True), part(parts, lambda a: a > 0), part(parts, lambda a: a < 0)))
        (whole, pos, neg), (whole2, pos2, neg2) = draws
        for key, value in {
            "|SFT|": norm(sft),
            "|arena|": norm(whole),
            "|positive|": norm(pos),
            "|negative|": norm(neg),
            "draws: whole": cos(whole, whole2),
            "draws: positive": cos(pos, pos2),
            "draws: negative": cos(neg, neg2),
            "SFT: whole": cos(whole, sft),
            "SFT: positive": cos(pos, sft),
            "SFT: negative": cos(neg, sft),
        }.items():
            figures.setdefault(key, []).append(value)

    def mean(key: str) -> str:
        values = figures[key]
        return f"{sum(values) / len(values):.2f} ({min(values):.2f}–{max(values):.2f})"

    print(
        f"load {os.getloadavg()[0]:.1f}; BIN level {args.level}, {args.batches} batches of {args.problems} "
        "training problems × 2 draws each; mean (min–max over the batches)"
    )
    if second:
        print(f"checkpoint's Adam moments: sqrt(sum v) = {float(sum(v.sum() for v in second)) ** 0.5:.3f}")
    print(f"gradient norms: SFT of the gold answers {mean('|SFT|')}; arena {mean('|arena|')}")
    print(f"  its positive part {mean('|positive|')}, its negative part {mean('|negative|')}")
    print(f"cosine between two draws of the same problems: whole {mean('draws: whole')}")
    print(f"  positive parts {mean('draws: positive')}, negative parts {mean('draws: negative')}")
    print(f"cosine with the SFT gradient: whole {mean('SFT: whole')}, positive {mean('SFT: positive')}")
    print(f"  negative {mean('SFT: negative')}")
    print(f"positive-advantage answers: {right} right, {wrong} wrong (lifted by partial credit)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
