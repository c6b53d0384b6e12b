"""Does the Arena help? The same wall-clock budget of (a) more SFT and (b) the Arena (one or more
variants), from one checkpoint with partial accuracy at a BIN level, on the real dio-nano, in one run.

1. The start: a fresh realm (`realm init`) and the shipped dio-nano; one SFT (Scribe) battle on
   BIN at `--level` (review of the levels below at `--review-share`), with an eval of the level's
   eval pool every `--eval-every` steps, stopped at the first eval whose held-out accuracy
   reaches `--low` (or after `--warmup-s`). That checkpoint is cached under `--cache-dir`, keyed
   by what shapes it, so a rerun starts at once (`--rewarm` trains it again; `--warm-only` stops
   there).
2. The arms, one after the other (for each seed), each resumed from the start for `--budget-s` seconds and
   stopped by the clock: more SFT, then each `--variant NAME:key=value,...` of the Arena (`lr=`
   the arm's learning rate, other keys arena options; none: one arena arm with the
   `--school-option`s and the hero's rate × `lr_scale`, as `realm train` builds it). Each arm runs
   the real trainer loop (`run_battle`, in this process) and saves a checkpoint every `--save-s`.
3. Every checkpoint of every arm is scored afterwards (greedy, the evals' path) on the level's
   held-out eval problems: the end figure and the mean over the arm's checkpoints (one
   checkpoint's figure swings by several points at SFT's constant rate), the steps each arm made,
   and the Arena's throughput: problems judged per second of sampling and judging, and per second
   of the whole arm. A markdown table and a verdict per arena arm close the run.

Every arm runs once per `--seeds` seed (seed-major: a seed's arms back to back); the closing lines
give each arm's mean over seeds and a verdict against its start (≥ +10 points on every seed, and
beyond the noise: the held-out questions that changed verdict between the start and the arm's end
went right more often than wrong by an exact two-sided sign test, p < 0.05, on every seed) and
against more SFT at the same budget. `--sft-lr RATE` adds an SFT arm at another rate (the control
for an arena arm at a small rate: how much of its gain a gentler SFT gets too).

    HF_HUB_OFFLINE=1 python bench/arena.py --level 3 --budget-s 180 --save-s 45 --seeds 1234,7
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from realm_tui.config.realm_config import load_realm_configs
from realm_tui.contract.protocol import CheckpointSaved, Command, Error, EvalResult, Log, Step, Stop, TrainJob
from realm_tui.contract.school_options import school_learning_rate, school_settings
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


@dataclass(frozen=True)
class Score:
    """Greedy verdicts of one checkpoint on the level's eval pool."""

    held: float
    """Accuracy on the held-out questions (never trained)."""
    whole: float
    """Accuracy on the whole eval pool (with the tiny families training sees too)."""
    n_held: int
    verdicts: tuple[bool, ...]
    """Right or wrong per held-out question, in pool order (for the paired comparison)."""


def accuracy(job: TrainJob, checkpoint: str | None, level: int) -> Score:
    """The checkpoint's greedy verdicts on the level's eval pool (the evals' path)."""
    from realm_tui.trainer.answer import load_for_inference
    from realm_tui.trainer.data import ChatFormat
    from realm_tui.trainer.evaluate import score_problems

    root = Path(job.realm_root)
    model, tokenizer = load_for_inference(job.hero, root, Path(checkpoint) if checkpoint else None, job.memory_profile)
    skill = realm_skill("bin", root / "configs")
    pool = skill.eval_pool(level)
    scored = score_problems(model, tokenizer, skill, pool, chat=ChatFormat.from_hero(job.hero))
    verdicts = tuple(bool(r["correct"]) for r in scored.results if r["held_out"])
    held_acc = sum(verdicts) / len(verdicts) if verdicts else float("nan")
    return Score(held_acc, scored.accuracy, len(verdicts), verdicts)


def sign_test(gained: int, lost: int) -> float:
    """Two-sided exact sign test (McNemar's exact test) on the held-out questions that changed
    verdict: the chance of a split at least this uneven if a flip either way were a coin toss.
    Paired on the same questions, so it asks "did this arm change more answers to right than to
    wrong?", which a difference of two ±5-point accuracies on 98 questions cannot answer."""
    n = gained + lost
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(gained, lost) + 1)) / 2**n
    return min(1.0, 2 * tail)


def flips(before: tuple[bool, ...], after: tuple[bool, ...]) -> tuple[int, int]:
    """(wrong → right, right → wrong) over the same held-out questions."""
    gained = sum(1 for b, a in zip(before, after, strict=True) if a and not b)
    lost = sum(1 for b, a in zip(before, after, strict=True) if b and not a)
    return gained, lost


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


CACHE_VERSION = 1
"""Bump when the warm-up changes meaning (the cached starts then train afresh)."""


def cache_dir(job: TrainJob, args: argparse.Namespace) -> Path:
    """Where the warm-up start of these settings is kept (`--cache-dir`, keyed by what shapes it)."""
    key = json.dumps(
        {
            "v": CACHE_VERSION,
            "hero": job.hero,
            "level": args.level,
            "review": args.review_share,
            "low": args.low,
            "high": args.high,
            "eval_every": args.eval_every,
            "batch": job.batch_size,
            "lr": job.learning_rate,
        },
        sort_keys=True,
    )
    return Path(args.cache_dir) / hashlib.sha256(key.encode()).hexdigest()[:16]


def cached_start(job: TrainJob, args: argparse.Namespace) -> tuple[str, float, float]:
    """The warm-up's checkpoint from the cache, or a fresh warm-up that is then cached."""
    folder = cache_dir(job, args)
    record = folder / "start.json"
    if record.is_file() and not args.rewarm:
        saved = json.loads(record.read_text(encoding="utf-8"))
        print(f"warm-up: cached start {folder} (held-out {saved['held']:.0%})", flush=True)
        return str(folder / "checkpoint"), float(saved["held"]), float(saved["whole"])
    checkpoint, held, whole = warm_up(job, args)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    shutil.copytree(checkpoint, folder / "checkpoint")
    record.write_text(json.dumps({"held": held, "whole": whole, "from": checkpoint}), encoding="utf-8")
    print(f"warm-up: start cached in {folder}", flush=True)
    return str(folder / "checkpoint"), held, whole


class Gauge:
    """A TrainerControl for the warm-up: stops the battle (with a checkpoint) at the first in-loop
    eval whose held-out accuracy reaches `low`, or once `seconds` have passed."""

    def __init__(self, events: Events, low: float, seconds: float) -> None:
        self.events, self.low = events, low
        self.clock = Clock(seconds)
        self.seen = 0
        self.sent = False

    def poll(self, timeout: float = 0.0) -> list[Command]:
        for event in self.events[self.seen :]:
            if isinstance(event, EvalResult) and not self.sent:
                held, whole, n_held = held_out_share(event.results)
                print(
                    f"warm-up: step {event.step}: held-out {held:.0%} of {n_held}, eval pool {whole:.0%}",
                    flush=True,
                )
                if held >= self.low:
                    self.sent = True
                    self.seen = len(self.events)
                    return [Stop()]
        self.seen = len(self.events)
        return self.clock.poll(timeout)


def held_out_share(results: Any) -> tuple[float, float, int]:
    held = [r for r in results if r.get("held_out")]
    share = sum(bool(r["correct"]) for r in held) / len(held) if held else float("nan")
    whole = sum(bool(r["correct"]) for r in results) / len(results) if results else float("nan")
    return share, whole, len(held)


def warm_up(job: TrainJob, args: argparse.Namespace) -> tuple[str, float, float]:
    """One SFT battle with an eval of the level's whole eval pool every `--eval-every` steps,
    stopped at the first eval with held-out accuracy ≥ `--low` (or after `--warmup-s`)."""
    from realm_tui.trainer.loop import run_battle

    stage = replace(
        job,
        checkpoints_dir=str(Path(job.checkpoints_dir) / "warmup"),
        eval_every_steps=args.eval_every,
        eval_samples=256,
        eval_samples_by_skill={},
    )
    events = Events()
    started = time.monotonic()
    stopped = run_battle(stage, events, Gauge(events, args.low, args.warmup_s))
    if stopped.checkpoint is None:
        raise SystemExit(f"the warm-up saved no checkpoint: {[e.message for e in events if isinstance(e, Error)]}")
    score = accuracy(job, stopped.checkpoint, args.level)
    held, whole, n_held = score.held, score.whole, score.n_held
    steps = _steps(events)
    print(
        f"warm-up: {time.monotonic() - started:.0f} s, {len(steps)} steps: held-out {held:.0%} of {n_held} "
        f"(greedy, re-scored from the checkpoint), eval pool {whole:.0%}",
        flush=True,
    )
    if held > args.high:
        print(f"warm-up overshot ({held:.0%} > {args.high:.0%}): both arms start from it anyway", flush=True)
    return stopped.checkpoint, held, whole


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--level", type=int, default=3)
    parser.add_argument("--budget-s", type=float, default=180.0)
    parser.add_argument("--eval-every", type=int, default=25, help="warm-up: steps between evals")
    parser.add_argument("--warmup-s", type=float, default=600.0)
    parser.add_argument("--low", type=float, default=0.4)
    parser.add_argument("--high", type=float, default=0.7)
    parser.add_argument("--review-share", type=float, default=0.2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--small", action="store_true", help="a 2-layer, 64-wide dio-nano (a very busy machine)")
    parser.add_argument("--batch", type=int, default=None, help="SFT batch size (default: the hero's)")
    parser.add_argument("--school-option", action="append", default=[], help="KEY=VALUE for the arena")
    parser.add_argument(
        "--variant", action="append", default=[], help="an arena arm NAME:key=value,... (lr=… the arm's lr)"
    )
    parser.add_argument("--skip-sft", action="store_true", help="arena arms only (ablations)")
    parser.add_argument(
        "--sft-lr",
        action="append",
        type=float,
        default=[],
        help="an extra SFT arm at this learning rate (a control: SFT at the arena's rate)",
    )
    parser.add_argument(
        "--seeds", default="1234,7", help="comma-separated battle seeds: every arm runs once per seed (data, sampling)"
    )
    parser.add_argument("--save-s", type=float, default=30.0, help="a checkpoint every N s in each arm (scored after)")
    parser.add_argument(
        "--cache-dir", default=str(Path.home() / ".cache" / "realm-bench" / "arena"), help="warm-up starts kept here"
    )
    parser.add_argument("--rewarm", action="store_true", help="train the start afresh even when cached")
    parser.add_argument("--warm-only", action="store_true", help="stop after the warm-up (fills the cache)")
    parser.add_argument("--keep", type=Path, default=None, help="realm folder to keep (default: a temp one)")
    args = parser.parse_args()
    # As the trainer child does (trainer/threads.py): OpenMP threads sleep instead of spinning
    # (on a loaded machine a spinning sibling doubles a step's time), and glibc keeps freed
    # step buffers mapped. Both must happen before torch is imported.
    from realm_tui.trainer.threads import configure_malloc, configure_openmp

    configure_openmp()
    configure_malloc()
    import torch

    torch.set_num_threads(args.threads)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    folder = args.keep or Path(tempfile.mkdtemp(prefix="realm-arena-bench-"))
    realm, _ = init_realm(folder)
    job = base_job(realm.root, args.level, args.review_share, small=args.small, batch=args.batch)
    print(f"load: {os.getloadavg()[0]:.1f} (1 min), {os.cpu_count()} CPUs, torch threads {args.threads}", flush=True)
    start, held0, whole0 = cached_start(job, args)
    if args.warm_only:
        return 0
    before = accuracy(job, start, args.level)  # the start's own verdicts, for the paired comparison
    if abs(before.held - held0) > 1e-9:
        print(f"the start re-scored: held-out {before.held:.0%} (cached record {held0:.0%})", flush=True)
    arms = ([] if args.skip_sft else [Arm("scribe (more SFT)", "scribe", {}, None)]) + [
        Arm(f"scribe lr {lr:g}", "scribe", {}, lr) for lr in args.sft_lr
    ]
    arms += variants(args)
    seeds = [int(x) for x in args.seeds.split(",") if x.strip()]
    rows = []
    for seed in seeds:  # seed-major: each seed's arms run back to back, so both see the same load
        for arm in arms:
            rows.append(run_arm(replace(job, seed=seed), arm, start, before, args))
    report(rows, arms, seeds, before, args)
    print(f"load at the end: {os.getloadavg()[0]:.1f} (1 min); realm: {folder}")
    return 0


@dataclass(frozen=True)
class Arm:
    name: str
    school: str
    options: dict[str, str]
    learning_rate: float | None


@dataclass(frozen=True)
class ArmResult:
    name: str
    seed: int
    steps: int
    held: float
    whole: float
    mean_held: float
    checkpoints: int
    rate: str
    gained: int
    """Held-out questions wrong at the start and right at the arm's end."""
    lost: int
    """Held-out questions right at the start and wrong at the arm's end."""

    @property
    def p_value(self) -> float:
        return sign_test(self.gained, self.lost)


def variants(args: argparse.Namespace) -> list[Arm]:
    """`--variant NAME:key=value,key=value` (`lr` is the arm's learning rate, every other key an
    arena option); none: one arena arm with the `--school-option`s."""
    if not args.variant:
        options = dict(item.split("=", 1) for item in args.school_option)
        return [Arm("arena", "arena", options, None)]
    out = []
    for text in args.variant:
        name, _, rest = text.partition(":")
        options = dict(item.split("=", 1) for item in rest.split(",") if item)
        lr = options.pop("lr", None)
        out.append(Arm(f"arena {name}", "arena", options, float(lr) if lr else None))
    return out


def run_arm(job: TrainJob, arm: Arm, start: str, before: Score, args: argparse.Namespace) -> ArmResult:
    """The arm from `start` for `--budget-s`, a checkpoint every `--save-s`; each one scored after."""
    fought = replace(
        job,
        school=arm.school,
        school_options=arm.options,
        resume_from=start,
        checkpoints_dir=str(Path(job.checkpoints_dir) / arm.name.replace(" ", "-")),
        save_minutes=args.save_s / 60.0,
        learning_rate=arm.learning_rate or school_learning_rate(arm.school, arm.options, job.learning_rate),
    )
    checkpoint, events, wall = fight(fought, args.budget_s)
    steps = _steps(events)
    # In step order (checkpoint-<step>-<time>: as text, 1005 would sort before 745).
    saved = sorted({e.path for e in events if isinstance(e, CheckpointSaved)} | {checkpoint}, key=_step_of)
    scores = [accuracy(job, path, args.level) for path in saved]
    end = scores[saved.index(checkpoint)]
    gained, lost = flips(before.verdicts, end.verdicts)
    print(
        f"{arm.name}: {len(steps)} steps in {wall:.0f} s; held-out per checkpoint "
        f"{' '.join(f'{c.held:.0%}' for c in scores)} → {end.held:.0%} of {end.n_held} at the end "
        f"({gained} wrong → right, {lost} right → wrong: sign test p = {sign_test(gained, lost):.3g}), "
        f"pool {end.whole:.0%}",
        flush=True,
    )
    rate = _arena_rates(arm, events, steps, wall) if arm.school == "arena" else "–"
    mean_held = sum(c.held for c in scores) / len(scores)
    return ArmResult(arm.name, job.seed, len(steps), end.held, end.whole, mean_held, len(scores), rate, gained, lost)


def _arena_rates(arm: Arm, events: Events, steps: list[Step], wall: float) -> str:
    """Prints the arena's notes, throughput and reward trend; returns the throughput cell."""
    logs = [e.message for e in events if isinstance(e, Log)]
    for note in [m for m in logs if "arena" in m or "skip" in m or "learning rate" in m or "afresh" in m][:5]:
        print(f"  {note}")
    rates = [s.metrics["problems_per_s"] for s in steps if "problems_per_s" in s.metrics]
    metric = {k: [s.metrics[k] for s in steps if k in s.metrics] for k in ("reward", "signal", "solved")}
    problems = int(school_settings("arena", arm.options)["problems"])
    if not rates:
        return "–"
    rate = f"{sum(rates) / len(rates):.1f} sampling+judging, {len(rates) * problems / wall:.1f} whole arm"
    first, last = metric["reward"][:5], metric["reward"][-5:]
    signal = sum(metric["signal"]) / len(metric["signal"])
    print(
        f"  {rate} problems judged/s; reward {sum(first) / len(first):.3f} (first 5 steps) → "
        f"{sum(last) / len(last):.3f} (last 5); groups with signal {signal:.0%}"
    )
    return rate


def _step_of(path: str) -> int:
    return int(Path(path).name.split("-")[1])


def report(rows: list[ArmResult], arms: list[Arm], seeds: list[int], before: Score, args: argparse.Namespace) -> None:
    """One table row per arm and seed, then per arm the mean over seeds and a verdict: against the
    start (the arena must rise above it: ≥ 10 points, and beyond the noise by the paired sign
    test, on every seed) and against more SFT at the same budget."""
    held0, whole0 = before.held, before.whole
    print(
        f"\nBIN level {args.level}, {args.budget_s:.0f} s per arm, seeds {seeds}; start: held-out {held0:.0%} "
        f"of {before.n_held}"
    )
    print(
        "| arm | seed | steps | held-out before → after | wrong → right / right → wrong (sign test p) "
        "| mean of the arm's checkpoints | pool after | judged/s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row.name} | {row.seed} | {row.steps} | {held0:.0%} → **{row.held:.0%}** | {row.gained} / {row.lost} "
            f"(p = {row.p_value:.2g}) | {row.mean_held:.0%} (of {row.checkpoints}) | {whole0:.0%} → {row.whole:.0%} "
            f"| {row.rate} |"
        )
    means = {}
    for arm in arms:
        mine = [r for r in rows if r.name == arm.name]
        end = sum(r.held for r in mine) / len(mine)
        mean = sum(r.mean_held for r in mine) / len(mine)
        means[arm.name] = end
        gains = " ".join(f"{r.held - held0:+.0%}" for r in mine)
        gained, lost = sum(r.gained for r in mine), sum(r.lost for r in mine)
        print(
            f"{arm.name}: held-out after {end:.1%} (mean of seeds; per seed vs start {gains}), "
            f"checkpoints' mean {mean:.1%}; flips over the seeds {gained} / {lost} (p = {sign_test(gained, lost):.2g})"
        )
    sft = means.get("scribe (more SFT)")
    for arm in arms:
        if arm.school != "arena":
            continue
        mine = [r for r in rows if r.name == arm.name]
        rises = all(r.held - held0 >= 0.10 - 1e-9 for r in mine)
        rise = "rises ≥ 10 points above" if rises else "does NOT rise 10 points above"
        beyond = all(r.gained > r.lost and r.p_value < 0.05 for r in mine)
        noise = "beyond the noise (sign test p < 0.05)" if beyond else "NOT beyond the noise (sign test)"
        line = f"verdict: {arm.name} {rise} its start on every seed, {noise} on every seed"
        if sft is not None:
            diff = means[arm.name] - sft
            word = "beats" if diff > 0 else "ties" if diff == 0 else "loses to"
            line += f"; vs more SFT at the same budget: {diff:+.1%} ({word} it)"
        print(line)


if __name__ == "__main__":
    raise SystemExit(main())
