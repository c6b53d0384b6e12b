"""Every optimizer this machine can run, through the same real dio-nano battle, side by side.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/optimizers.py [--steps 40] [--markdown] [--repeat N] [--threads N]
                                                          [--only NAME ...]

What runs is the game's own battle: a temporary realm from `init_realm` (the shipped configs), a
BIN level-2 quest forged there (`quests.forge.forge_quest`, 2,000 problems), and the `TrainJob`
that `battle.setup.plan_battle` builds for the shipped dio-nano hero (its batch 32, max length
256 with packing, lr 1e-3 with 20 warm-up steps, weight decay 0.1, clipping at 1.0, precision
`auto`, seed 1234, memory profile `cpu_tiny`). Per optimizer only these change: `optimizer`, a
checkpoint folder of its own, quest data only (no generated skill data, no evals) and no
checkpoint during the steps (the battle still saves one when it finishes). GaLore needs method
`galore`: its runs use `cpu_tiny` with method galore and a `galore:` section (rank 64,
update_proj_gap 20, scale 0.25, attn + mlp), validated as a `MemoryProfile`. Whatever the game's
own knob check (`battle.preflight.check_battle_knobs`) refuses here is listed as skipped with its
reason (galore_adamw_8bit without CUDA).

Each battle runs `trainer.loop.run_battle` in a fresh process started with `spawn`, so the peak
RSS (the child's own `ru_maxrss`) is that optimizer's alone. From the battle's `Step` events:
steps/s over steps 2..N (step 1 creates the optimizer state), the loss of the first and the last
step; from its final `CheckpointSaved`: the held-out loss and the optimizer state as saved (bytes
of the tensors in the checkpoint's optimizer state), next to the VRAM calculator's figure for
the same hero, profile, optimizer and precision. Steps/s on a shared machine is noisy: steps per
CPU-second of the battle process is printed next to it (it moves less with outside load), OpenMP
threads wait passively (`OMP_WAIT_POLICY=PASSIVE` unless set), `--threads N` sets the torch threads
of each battle (default: torch's own, as in the game), and `--repeat N` runs every optimizer N
times, interleaved, keeping the fastest run.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Idle OpenMP threads sleep instead of spinning: on a shared machine spinning threads fight over the cores.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

if TYPE_CHECKING:
    from realm_tui.config.hero import HeroConfig
    from realm_tui.config.memory_profile import MemoryProfile
    from realm_tui.contract.protocol import TrainJob

HERO = "dio-nano"
QUEST_SKILL, QUEST_LEVEL, QUEST_COUNT = "bin", 2, 2000
GALORE = {"rank": 64, "update_proj_gap": 20, "scale": 0.25, "target_modules": ["attn", "mlp"]}


# ---------------------------------------------------------------- child (one battle)


def _saved_state_bytes(checkpoint: str) -> int:
    """Bytes of the tensors in the optimizer state the battle saved."""
    import torch

    from realm_tui.trainer.checkpoint import load_checkpoint

    def size(value: Any) -> int:
        if isinstance(value, torch.Tensor):
            return value.numel() * value.element_size()
        if isinstance(value, dict):
            return sum(size(v) for v in value.values())
        if isinstance(value, (list, tuple)):
            return sum(size(v) for v in value)
        return 0

    return size(load_checkpoint(Path(checkpoint))["optimizer"]["state"])


def threads() -> int:
    import torch

    return int(torch.get_num_threads())


def run_one(job: TrainJob) -> dict[str, Any]:
    """One real battle, in a spawned child: the figures from its events."""
    import resource

    from realm_tui.contract.protocol import CheckpointSaved, Error, Hello, Log, Step
    from realm_tui.trainer.loop import run_battle

    marks: list[tuple[float, float, int, float]] = []  # (wall, CPU seconds at the Step event, step, loss)
    seen: dict[str, Any] = {"notes": [], "errors": []}

    def emit(event: Any) -> None:
        if isinstance(event, Step):
            marks.append((time.perf_counter(), time.process_time(), event.step, event.loss))
        elif isinstance(event, Hello):
            seen["precision"], seen["device"] = event.precision, event.device
        elif isinstance(event, CheckpointSaved):
            seen["checkpoint"], seen["val_loss"] = event.path, event.val_loss
        elif isinstance(event, Log) and event.message.startswith("optimizer "):
            seen["notes"].append(event.message)
        elif isinstance(event, Error):
            seen["errors"].append(event.message.strip().splitlines()[-1])

    stopped = run_battle(job, emit)
    if stopped.reason != "finished" or len(marks) < 2:
        return {"error": "; ".join(seen["errors"]) or f"stopped: {stopped.reason} after {len(marks)} steps"}
    (t1, c1, _, first), (tn, cn, n, last) = marks[0], marks[-1]
    return {
        "steps_per_s": (len(marks) - 1) / (tn - t1),
        "steps_per_cpu_s": (len(marks) - 1) / max(cn - c1, 1e-9),
        "threads": threads(),
        "steps": n,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "state_mib": _saved_state_bytes(seen["checkpoint"]) / 2**20 if "checkpoint" in seen else None,
        "first_loss": first,
        "final_loss": last,
        "val_loss": seen.get("val_loss"),
        "precision": seen.get("precision"),
        "device": seen.get("device"),
        "notes": seen["notes"],
    }


def run_spawned(job: TrainJob) -> dict[str, Any]:
    """`run_one` in a fresh `spawn` process (nothing inherited: its peak RSS is its own)."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        try:
            return pool.submit(run_one, job).result()
        except Exception as err:  # a crashed child (BrokenProcessPool) or an exception in it
            return {"error": f"{type(err).__name__}: {err}"}


# ---------------------------------------------------------------- parent


def plan_base_job(root: Path, steps: int) -> tuple[TrainJob, HeroConfig, MemoryProfile]:
    """A temp realm with a forged quest; the job `plan_battle` builds for dio-nano on it."""
    from transformers.utils import logging as hf_logging

    from realm_tui.battle.setup import plan_battle
    from realm_tui.config.realm_config import load_realm_configs
    from realm_tui.quests.board import board_for
    from realm_tui.quests.forge import forge_quest
    from realm_tui.services.init_realm import init_realm
    from realm_tui.store import Store
    from realm_tui.trainer.hero import ensure_nano_base

    realm, _ = init_realm(root)
    configs = load_realm_configs(realm.configs)
    hero = configs.hero(HERO)
    with Store.open(realm.store_file) as store:
        board = board_for(realm, store, hero)
        record = forge_quest(board, skill=QUEST_SKILL, level=QUEST_LEVEL, count=QUEST_COUNT)
        quest = board.path_of(record)
        plan = plan_battle(realm, configs, store, hero_id=HERO, quest=quest, steps=steps, resume=False)
    # quest_passes: the battle runs its steps even past one epoch of the quest (it times steps).
    job = replace(plan.job, curriculum={}, eval_every_steps=0, save_steps=0, save_minutes=0.0, quest_passes=1000.0)
    hf_logging.disable_progress_bar()
    ensure_nano_base(HERO, dict(job.hero["model"].get("nano") or {}), realm.root)  # built once, not in a child
    return job, hero, configs.profile_for(hero)


def profile_for(base: MemoryProfile, optimizer: str) -> MemoryProfile:
    """The hero's profile; for a GaLore optimizer the same with method galore and a `galore:` section."""
    from realm_tui.config.memory_profile import MemoryProfile

    if not optimizer.startswith("galore_"):
        return base
    data = base.model_dump(mode="json")
    data.update(id=f"{base.id}_galore", method="galore", optimizer=optimizer, galore=dict(GALORE))
    return MemoryProfile.model_validate(data)


def refusal(hero: HeroConfig, profile: MemoryProfile, job: TrainJob, optimizer: str) -> str | None:
    """The game's own knob check for this optimizer; its message when it refuses the battle."""
    from realm_tui.battle.preflight import check_battle_knobs
    from realm_tui.errors import RealmError

    try:
        check_battle_knobs(
            hero,
            profile,
            batch_size=job.batch_size,
            seq_len=job.max_length,
            optimizer=optimizer,
            precision=job.precision,
        )
    except RealmError as err:
        return str(err).strip().splitlines()[-1].strip(" -•*")
    return None


def calculator_state_mib(
    hero: HeroConfig, profile: MemoryProfile, job: TrainJob, optimizer: str, precision: str
) -> float:
    from realm_tui.armory.hero_arch import arch_for_hero
    from realm_tui.armory.vram import estimate_with_profile

    mode = "fp32" if precision == "fp32" else ("amp_bf16" if profile.is_cpu else "bf16")
    est = estimate_with_profile(
        arch_for_hero(hero),
        profile,
        optimizer=optimizer,
        precision=mode,
        batch_size=job.batch_size,
        seq_len=job.max_length,
    )
    return (est.optimizer_state + est.cpu_offload) / 2**20


def label(name: str, row: dict[str, Any]) -> str:
    if name.startswith("galore_"):
        return f"{name} (rank {GALORE['rank']}, gap {GALORE['update_proj_gap']})"
    if row.get("device") == "cpu" and name.startswith("paged_"):
        return f"{name} (unpaged on CPU)"
    if row.get("device") == "cpu" and name == "adamw_torch_fused":
        return f"{name} (foreach on CPU)"
    return name


def print_table(names: list[str], results: dict[str, dict[str, Any]], markdown: bool) -> None:
    header = ["optimizer", "steps/s", "× adamw", "steps/CPU-s", "peak RSS MiB", "state MiB", "calc state MiB"]
    header += ["first loss", "final loss", "val loss"]
    base = results.get("adamw", {}).get("steps_per_s")
    width = max(len(label(n, results[n])) for n in names) + 2
    if markdown:
        print("\n| " + " | ".join(header) + " |")
        print("|---|" + "---:|" * (len(header) - 1))
    else:
        print("\n" + f"{header[0]:<{width}}" + "".join(f"{h:>15}" for h in header[1:]))
    for name in names:
        r = results[name]
        if "steps_per_s" not in r:
            why = f"skipped: {r['skipped']}" if "skipped" in r else f"error: {r.get('error')}"
            print(f"| {name} | {why} |" + " |" * (len(header) - 2) if markdown else f"{name:<{width}}{why}")
            continue

        def num(value: float | None, fmt: str) -> str:
            return "?" if value is None else format(value, fmt)

        cells = [
            f"{r['steps_per_s']:.2f}",
            f"{r['steps_per_s'] / base:.2f}" if base else "?",
            f"{r['steps_per_cpu_s']:.2f}",
            f"{r['peak_rss_mib']:.0f}",
            num(r["state_mib"], ".2f"),
            num(r.get("calc_state_mib"), ".2f"),
            f"{r['first_loss']:.3f}",
            f"{r['final_loss']:.3f}",
            num(r["val_loss"], ".3f"),
        ]
        if markdown:
            print(f"| {label(name, r)} | " + " | ".join(cells) + " |")
        else:
            print(f"{label(name, r):<{width}}" + "".join(f"{c:>15}" for c in cells))


def main(argv: list[str] | None = None) -> int:
    from realm_tui.config.common import OPTIMIZERS

    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--steps", type=int, default=40, help="optimizer steps per battle (default 40)")
    parser.add_argument("--markdown", action="store_true", help="print the table as markdown")
    parser.add_argument("--repeat", type=int, default=1, help="runs per optimizer, interleaved; best steps/s kept")
    parser.add_argument("--only", nargs="*", choices=OPTIMIZERS, help="optimizers to run (default: all)")
    parser.add_argument("--threads", type=int, help="torch threads in each battle (default: torch's, as in the game)")
    args = parser.parse_args(argv)
    if args.threads:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)  # read by torch when the spawned child imports it
    if args.steps < 2:
        parser.error("--steps must be at least 2 (step 1 is not timed)")
    names = list(args.only or OPTIMIZERS)
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="realm-bench-optim-") as tmp:
        job, hero, base_profile = plan_base_job(Path(tmp) / "realm", args.steps)
        checkpoints = Path(job.checkpoints_dir)
        print(
            f"real battle: hero {hero.id} (profile {base_profile.id}), forged {QUEST_SKILL} level {QUEST_LEVEL} "
            f"quest ({QUEST_COUNT} problems), batch {job.batch_size} × max_length {job.max_length} "
            f"(packing {job.packing}), lr {job.learning_rate:g} (warm-up {job.warmup_steps}, {job.lr_schedule}), "
            f"weight decay {job.weight_decay:g}, clip {job.max_grad_norm:g}, precision {job.precision}, "
            f"seed {job.seed}, {args.steps} steps; each battle in a fresh spawned process"
        )
        results: dict[str, dict[str, Any]] = {}
        for round_ in range(args.repeat):  # interleaved: a burst of load elsewhere hits every optimizer alike
            for name in names:
                profile = profile_for(base_profile, name)
                why = refusal(hero, profile, job, name)
                if why is not None:
                    results[name] = {"skipped": why}
                    continue
                one = replace(
                    job,
                    optimizer=name,
                    memory_profile=profile.model_dump(mode="json"),
                    checkpoints_dir=str(checkpoints / f"{name}-{round_}"),
                )
                run = run_spawned(one)
                if "steps_per_s" in run:
                    run["calc_state_mib"] = calculator_state_mib(hero, profile, job, name, str(run["precision"]))
                best = results.get(name)
                if best is None or run.get("steps_per_s", 0) > best.get("steps_per_s", 0):
                    results[name] = run
                got = f"{run['steps_per_s']:.2f} steps/s" if "steps_per_s" in run else run.get("error")
                print(f"  {name}: round {round_ + 1}: {got}", file=sys.stderr, flush=True)
    precision = next((r["precision"] for r in results.values() if r.get("precision")), "?")
    device = next((r["device"] for r in results.values() if r.get("device")), "?")
    n_threads = next((r["threads"] for r in results.values() if r.get("threads")), "?")
    print(
        f"device {device}, precision {precision} (resolved from {job.precision!r} by the battle), {n_threads} threads"
    )
    print_table(names, results, args.markdown)
    for name in names:
        for note in results[name].get("notes", []):
            print(f"note: {note}")
    print(f"(bench took {time.time() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
