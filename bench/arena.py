"""Does the Arena help? The same wall-clock budget of (a) more SFT and (b) the Arena, from one
checkpoint with partial accuracy at a BIN level, on dio-nano, in one run.

1. A fresh realm in a temp folder (`realm init`) and the shipped dio-nano. SFT (the Scribe) on
   BIN at `--level` (review of the levels below at the curriculum's share) in chunks of
   `--chunk-s` seconds until the held-out accuracy at the level is within [`--low`, `--high`]
   (or `--warmup-s` runs out): that checkpoint is the start of both arms.
2. Arm (a): Scribe from it for `--budget-s` seconds. Arm (b): Arena from it for the same budget
   (`--school-option KEY=VALUE` as for `realm train`). Each arm runs the real trainer loop
   (`run_battle`, in this process, `--threads` torch threads) and is stopped by the clock.
3. Greedy accuracy before and after each arm on the level's held-out eval problems (and on its
   whole eval pool, which at small levels includes table questions training also sees), the
   steps each arm made, and the Arena's throughput: problems judged per second of sampling and
   judging, and per second of the whole arm.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/arena.py [--level 2] [--budget-s 180] \
        [--school-option loss_type=dapo ...]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from realm_tui.config.realm_config import load_realm_configs
from realm_tui.contract.protocol import Command, Error, Log, Step, Stop, TrainJob
from realm_tui.services.init_realm import init_realm
from realm_tui.skills.registry import realm_skill

HERO = "dio-nano"


class Clock:
    """A TrainerControl that stops the battle (with a checkpoint) once `seconds` have passed."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self.sent = False

    def poll(self, timeout: float = 0.0) -> list[Command]:
        if not self.sent and time.monotonic() >= self.deadline:
            self.sent = True
            return [Stop()]
        if timeout:
            time.sleep(min(timeout, 0.05))
        return []


class Events(list):  # type: ignore[type-arg]
    def __call__(self, event: Any) -> None:
        self.append(event)
        if isinstance(event, Error):
            print(f"  ! {event.message}", flush=True)


def curriculum(level: int, review_share: float) -> dict[str, Any]:
    mastered = level - 1
    return {
        "strategy": "focus",
        "focus_skill": "bin",
        "quest_share": 0.0,
        "review_share": review_share if mastered else 0.0,
        "skills": {
            "bin": {
                "level": level,
                "mastered": mastered,
                "weight": 1.0,
                "review_levels": list(range(1, mastered + 1)),
                "maintenance_levels": [],
            }
        },
    }


SMALL_NANO = {"hidden_size": 64, "num_layers": 2, "num_heads": 2, "num_kv_heads": 1, "head_dim": 32}
"""`--small`: dio-nano's shape shrunk to the tests' tiny hero (for a machine too busy for dio-nano)."""


def base_job(root: Path, level: int, review_share: float, *, small: bool, batch: int | None) -> TrainJob:
    configs = load_realm_configs(root / "configs")
    hero = configs.hero(HERO)
    hero_dict = hero.model_dump(mode="json")
    hero_id = HERO
    if small:
        hero_dict["model"]["nano"].update(SMALL_NANO, intermediate_size=128, max_position_embeddings=512)
        hero_id = hero_dict["id"] = f"{HERO}-small"
    defaults = {**hero.training_defaults.job_kwargs(), "save_steps": 0, "save_minutes": 0.0}
    if small:  # the tests' tiny-hero settings: it learns BIN level 1 in a few dozen steps
        defaults.update(max_length=256, learning_rate=3e-3, warmup_steps=2)
    if batch:
        defaults["batch_size"] = batch
    return TrainJob(
        realm_root=str(root),
        hero_id=hero_id,
        hero=hero_dict,
        quest_paths=(),
        checkpoints_dir=str(root / "saves" / "checkpoints"),
        quest_id="",
        max_steps=1_000_000,
        **defaults,
        curriculum=curriculum(level, review_share),
        eval_every_steps=0,
        memory_profile=configs.profile_for(hero).model_dump(mode="json"),
    )


def accuracy(job: TrainJob, checkpoint: str | None, level: int) -> tuple[float, float, int, int]:
    """(held-out accuracy, whole eval pool accuracy, held-out count, pool count), greedy."""
    from realm_tui.trainer.answer import load_for_inference
    from realm_tui.trainer.data import ChatFormat
    from realm_tui.trainer.evaluate import score_problems

    root = Path(job.realm_root)
    model, tokenizer = load_for_inference(job.hero, root, Path(checkpoint) if checkpoint else None, job.memory_profile)
    skill = realm_skill("bin", root / "configs")
    pool = skill.eval_pool(level)
    scored = score_problems(model, tokenizer, skill, pool, chat=ChatFormat.from_hero(job.hero))
    held = [r for r in scored.results if r["held_out"]]
    held_acc = sum(r["correct"] for r in held) / len(held) if held else float("nan")
    return held_acc, scored.accuracy, len(held), len(pool)


def fight(job: TrainJob, seconds: float) -> tuple[str, Events, float]:
    events = Events()
    from realm_tui.trainer.loop import run_battle

    started = time.monotonic()
    stopped = run_battle(job, events, Clock(seconds))
    wall = time.monotonic() - started
    if stopped.checkpoint is None:
        errors = [e.message for e in events if isinstance(e, Error)]
        raise SystemExit(f"the {job.school} battle saved no checkpoint: {errors}")
    return stopped.checkpoint, events, wall


def _steps(events: Events) -> list[Step]:
    return [e for e in events if isinstance(e, Step)]


def warm_up(job: TrainJob, args: argparse.Namespace) -> tuple[str, float, float]:
    """SFT in chunks until the held-out accuracy is within [low, high]; the checkpoint."""
    checkpoint: str | None = None
    spent = 0.0
    while True:
        stage = replace(job, resume_from=checkpoint, checkpoints_dir=str(Path(job.checkpoints_dir) / "warmup"))
        checkpoint, events, wall = fight(stage, args.chunk_s)
        spent += wall
        held, whole, n_held, n_pool = accuracy(job, checkpoint, args.level)
        steps = _steps(events)
        print(
            f"warm-up: {spent:5.0f} s, step {steps[-1].step if steps else '?'}, loss "
            f"{steps[-1].loss if steps else float('nan'):.3f}: held-out {held:.0%} of {n_held}, "
            f"eval pool {whole:.0%} of {n_pool}",
            flush=True,
        )
        gauge = held if n_held else whole  # a level with no held-out question (BIN 1): its whole table
        if gauge >= args.low or spent >= args.warmup_s:
            if gauge > args.high:
                print(f"warm-up overshot ({gauge:.0%} > {args.high:.0%}): both arms start from it anyway", flush=True)
            return checkpoint, held, whole


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--level", type=int, default=2)
    parser.add_argument("--budget-s", type=float, default=180.0)
    parser.add_argument("--chunk-s", type=float, default=30.0)
    parser.add_argument("--warmup-s", type=float, default=600.0)
    parser.add_argument("--low", type=float, default=0.4)
    parser.add_argument("--high", type=float, default=0.7)
    parser.add_argument("--review-share", type=float, default=0.2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--small", action="store_true", help="a 2-layer, 64-wide dio-nano (a very busy machine)")
    parser.add_argument("--batch", type=int, default=None, help="SFT batch size (default: the hero's)")
    parser.add_argument("--school-option", action="append", default=[], help="KEY=VALUE for the arena")
    parser.add_argument("--keep", type=Path, default=None, help="realm folder to keep (default: a temp one)")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    folder = args.keep or Path(tempfile.mkdtemp(prefix="realm-arena-bench-"))
    realm, _ = init_realm(folder)
    job = base_job(realm.root, args.level, args.review_share, small=args.small, batch=args.batch)
    print(f"load: {os.getloadavg()[0]:.1f} (1 min), {os.cpu_count()} CPUs, torch threads {args.threads}", flush=True)
    start, held0, whole0 = warm_up(job, args)
    options = dict(item.split("=", 1) for item in args.school_option)
    results = {}
    for school in ("scribe", "arena"):
        arm = replace(
            job,
            school=school,
            school_options=options if school == "arena" else {},
            resume_from=start,
            checkpoints_dir=str(Path(job.checkpoints_dir) / school),
        )
        checkpoint, events, wall = fight(arm, args.budget_s)
        held, whole, n_held, n_pool = accuracy(job, checkpoint, args.level)
        steps = _steps(events)
        results[school] = (held, whole, len(steps), wall, steps)
        print(
            f"{school}: {len(steps)} steps in {wall:.0f} s: held-out {held0:.0%} → {held:.0%} (of {n_held}), "
            f"eval pool {whole0:.0%} → {whole:.0%} (of {n_pool})",
            flush=True,
        )
        if school == "arena":
            logs = [e.message for e in events if isinstance(e, Log)]
            notes = [m for m in logs if "arena" in m or "skipped" in m]
            for note in notes[:3]:
                print(f"  {note}")
            judged = sum(int(s.metrics.get("reward") is not None) for s in steps) * int(options.get("problems", 8))
            rates = [s.metrics["problems_per_s"] for s in steps if "problems_per_s" in s.metrics]
            rewards = [s.metrics["reward"] for s in steps if "reward" in s.metrics]
            if rates:
                print(
                    f"  throughput: {sum(rates) / len(rates):.1f} problems judged/s while sampling+judging, "
                    f"{judged / wall:.1f} problems/s over the arm; reward {rewards[0]:.3f} (first step) → "
                    f"{sum(rewards[-5:]) / len(rewards[-5:]):.3f} (last 5)"
                )
    a, b = results["scribe"], results["arena"]
    for name, index in (("held-out", 0), ("whole eval pool", 1)):
        if a[index] != a[index]:  # no held-out question at this level
            continue
        verdict = "beats" if b[index] > a[index] else ("ties" if b[index] == a[index] else "does NOT beat")
        shares = f"{b[index]:.0%} vs {a[index]:.0%}"
        print(f"verdict ({name}, BIN level {args.level}): the arena {verdict} more SFT ({shares})")
    print(f"load at the end: {os.getloadavg()[0]:.1f} (1 min); realm: {folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
