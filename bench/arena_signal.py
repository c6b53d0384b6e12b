"""Is there a learning signal for the Arena? From one checkpoint, at one BIN level: sample G answers
to N training problems at each temperature (the Arena's sampler, `trainer.sampling`), judge them
with the skill (`skills.judging`, the Arena's rewards) and print, per temperature:

- greedy accuracy on the same problems (the evals' path: what the bench's accuracy counts),
- sampled accuracy, the share of groups with a right answer (`solved`), with right AND wrong
  answers (exact signal) and with unequal rewards (the signal partial credit adds),
- the mean |advantage| and the share of answers with a non-zero advantage,
- the share of answers that hit the token limit without an end token, and the mean length,
- problems judged per second of sampling + judging.

It checks the Arena's prompts and verdicts against the evals' too: the greedy answers through the
sampler (temperature 0) must get the same verdicts as `evaluate.score_problems`.

    python bench/arena_signal.py CHECKPOINT [--level 3] [--problems 64] [--group 8] \
        [--temperatures 0.5,0.7,1.0]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from realm_tui.config.realm_config import load_realm_configs
from realm_tui.services.init_realm import init_realm
from realm_tui.skills.judging import Rewards, judge_all
from realm_tui.skills.registry import realm_skill


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--level", type=int, default=3)
    parser.add_argument("--problems", type=int, default=64)
    parser.add_argument("--group", type=int, default=8)
    parser.add_argument("--temperatures", default="0.5,0.7,1.0")
    parser.add_argument("--top-p", type=float, default=1.0)
    parser.add_argument("--partial", type=float, default=0.5)
    parser.add_argument("--format", type=float, default=0.1)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    from realm_tui.trainer.threads import configure_openmp

    configure_openmp()
    import torch

    from realm_tui.trainer import arena as objective
    from realm_tui.trainer.answer import load_for_inference
    from realm_tui.trainer.data import ChatFormat
    from realm_tui.trainer.evaluate import ANSWER_MARGIN, prompt_ids, score_problems, stop_token_ids
    from realm_tui.trainer.sampling import sample_ids

    torch.set_num_threads(args.threads)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    realm, _ = init_realm(Path(tempfile.mkdtemp(prefix="realm-arena-signal-")))
    configs = load_realm_configs(realm.configs)
    hero = configs.hero("dio-nano")
    hero_dict = hero.model_dump(mode="json")
    model, tokenizer = load_for_inference(
        hero_dict, realm.root, args.checkpoint, configs.profile_for(hero).model_dump(mode="json")
    )
    chat = ChatFormat.from_hero(hero_dict)
    skill = realm_skill("bin", realm.configs)
    problems = skill.training_batch(args.level, args.problems, 0)
    stops = stop_token_ids(tokenizer, chat)
    pad_id = int(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else next(iter(stops)))
    prompts = [prompt_ids(p.messages()[:-1], tokenizer, chat) for p in problems]
    limits = [len(tokenizer(p.expected, add_special_tokens=False)["input_ids"]) + ANSWER_MARGIN for p in problems]
    greedy = score_problems(model, tokenizer, skill, problems, chat=chat)
    print(f"load {os.getloadavg()[0]:.1f}; BIN level {args.level}, {len(problems)} training problems")
    print(f"greedy (evals' path): {greedy.accuracy:.0%}")
    mine = sample_ids(model, prompts, group=1, max_new_tokens=limits, pad_id=pad_id, stop_ids=stops, temperature=0.0)
    texts = [tokenizer.decode(t, skip_special_tokens=True) for t in mine.tokens]
    same = sum(
        int(v.correct == bool(r["correct"]))
        for v, r in zip(judge_all(skill, problems, texts), greedy.results, strict=True)
    )
    print(f"greedy through the Arena's sampler and judge: {same}/{len(problems)} verdicts equal the evals'")
    rewards_of = Rewards(args.partial, args.format)
    print("T     sampled  solved  exact-signal  reward-signal  |A|>0  mean|A|  no-stop  len   judged/s")
    for temperature in [float(t) for t in args.temperatures.split(",")]:
        generator = torch.Generator().manual_seed(0)
        started = time.perf_counter()
        out = sample_ids(
            model,
            prompts,
            group=args.group,
            max_new_tokens=limits,
            pad_id=pad_id,
            stop_ids=stops,
            temperature=temperature,
            top_p=args.top_p,
            generator=generator,
        )
        texts = [tokenizer.decode(t, skip_special_tokens=True) for t in out.tokens]
        verdicts = judge_all(skill, [p for p in problems for _ in range(args.group)], texts)
        seconds = time.perf_counter() - started
        shape = (len(problems), args.group)
        correct = torch.tensor([v.correct for v in verdicts]).view(shape)
        rewards = torch.tensor([rewards_of.of(v) for v in verdicts]).view(shape)
        advantages = objective.group_advantages(rewards)
        exact = correct.any(1) & ~correct.all(1)
        print(
            f"{temperature:<5} {float(correct.float().mean()):6.0%}  {float(correct.any(1).float().mean()):6.0%}  "
            f"{float(exact.float().mean()):11.0%}  {float(objective.signal_groups(rewards).float().mean()):12.0%}  "
            f"{float((advantages != 0).float().mean()):5.0%}  {float(advantages.abs().mean()):7.2f}  "
            f"{sum(s is None for s in out.stopped) / len(out.stopped):6.0%}  "
            f"{sum(len(t) for t in out.tokens) / len(out.tokens):4.1f}  {len(problems) / seconds:8.1f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
