"""Training throughput with the TUI open vs the headless loop (`realm train --no-ui`).

The same short battle (dio-nano, skills only, the same batch and steps, from the base hero each time)
runs (1) inside the Textual app, driven headless by `run_test` with the Battle screen (live
plots) on view, and (2) through `battle.headless.run_headless` (the `realm train --no-ui --json`
loop). The figure is the trainer's own tokens/s (tokens ÷ time spent in optimizer steps), summed
over interleaved rounds (TUI, headless, TUI, headless …) so that a burst of someone else's work
on a shared machine lands on both sides alike. Also printed: CPU seconds the parent process
(the UI, or the headless loop) used per battle.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/tui_throughput.py [--steps 40] [--rounds 4] [--batch 8]

On a shared machine the rounds swing with other people's work; the median of the per-round
ratios is the steadier figure, and the UI's own CPU while the trainer trains (printed last) is
the upper bound of what the open game can take from it.

The parent never imports torch (the trainer child does), as in the game.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from realm_tui.battle.bridge import TrainerBridge  # noqa: E402
from realm_tui.battle.headless import run_headless  # noqa: E402
from realm_tui.contract.protocol import Event, Step  # noqa: E402
from realm_tui.paths import RealmPaths  # noqa: E402
from realm_tui.services.init_realm import init_realm  # noqa: E402


def template_realm(root: Path, batch: int) -> RealmPaths:
    """A realm with dio-nano built, a skills-only curriculum, no checkpoints or evals during the battle."""
    realm, _ = init_realm(root)
    hero = realm.heroes_config / "dio-nano.yaml"
    text = hero.read_text()
    for key, value in (("batch_size", str(batch)), ("save_steps", "100000"), ("eval_every_steps", "100000")):
        text = "\n".join(
            f"  {key}: {value}" if line.strip().startswith(f"{key}:") and line.startswith("  ") else line
            for line in text.split("\n")
        )
    # No quest: an idle realm forges a 16-problem BIN quest that a quest-only battle finished in 2
    # steps (the bench then timed 2 steps, not --steps). Both sides now fight the same skills-only
    # battle, generated data from the same seed, for --steps steps.
    text = text.replace("  forge_count: 1", "  forge_count: 0")
    hero.write_text(text)
    curriculum = realm.configs / "curriculum.yaml"
    curriculum.write_text(curriculum.read_text().replace("quest_share: 0.5", "quest_share: 0.0"))
    build = "from pathlib import Path; from realm_tui.trainer.hero import ensure_nano_base; "
    build += f"ensure_nano_base('dio-nano', None, Path({str(realm.root)!r}))"
    subprocess.run([sys.executable, "-c", build], check=True)  # torch stays out of this process
    return realm


def fresh(template: RealmPaths, where: Path) -> RealmPaths:
    shutil.rmtree(where, ignore_errors=True)
    shutil.copytree(template.root, where)
    return RealmPaths(where)


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class TappedBridge(TrainerBridge):
    """The real bridge; remembers the last Step the trainer sent."""

    last: Step | None = None

    def events(self, timeout: float = 0.1) -> list[Event]:
        out = super().events(timeout)
        for event in out:
            if isinstance(event, Step):
                TappedBridge.last = event
        return out


STEP_WINDOW: list[tuple[float, float]] = []
"""Per TUI battle: (UI process CPU seconds, wall seconds) while the trainer was training."""


async def tui_battle(realm: RealmPaths, steps: int) -> tuple[int, float]:
    from realm_tui.ui.app import create_app
    from realm_tui.ui.game import GameOptions
    from realm_tui.ui.models import TrainerState

    TappedBridge.last = None
    app = create_app(realm.root, GameOptions(battle_steps=steps, bridge_factory=TappedBridge, inbox_poll_s=0))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2")  # the Battle screen: live plots, log and readouts
        await pilot.press("s")
        await pilot.pause(0.5)
        window: list[tuple[float, float]] = []
        while app.game.trainer_state is not TrainerState.IDLE or app.game.live is None:
            if app.game.trainer_state is TrainerState.DEAD:
                raise RuntimeError(f"the battle died: {app.game.trainer_detail}")
            if app.game.trainer_state is TrainerState.TRAINING and app.game.live is not None:
                window.append((cpu_s(), time.perf_counter()))  # first and last sample while training
            await pilot.pause(1.0)  # the bench watching: rarely, so its own wake-ups do not count against the UI
        if len(window) >= 2:
            STEP_WINDOW.append((window[-1][0] - window[0][0], window[-1][1] - window[0][1]))
    last = TappedBridge.last
    assert last is not None
    return last.tokens, last.tokens / max(last.tokens_per_s, 1e-9)


def headless_battle(realm: RealmPaths, steps: int) -> tuple[int, float]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = run_headless(realm, steps=steps, json_events=True)
    if code != 0:
        raise RuntimeError(f"headless battle exited {code}:\n{out.getvalue()[-2000:]}")
    last = [json.loads(line) for line in out.getvalue().splitlines() if '"event": "Step"' in line][-1]
    return int(last["tokens"]), float(last["tokens"]) / max(float(last["tokens_per_s"]), 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tui-bench-") as tmp:
        template = template_realm(Path(tmp) / "template", args.batch)
        totals = {"tui": [0, 0.0, 0.0], "headless": [0, 0.0, 0.0]}
        per_round: list[float] = []
        for rnd in range(args.rounds):
            speed: dict[str, float] = {}
            # Alternate who goes first, so a slow start or end of someone else's job hits both.
            for side in ("tui", "headless") if rnd % 2 == 0 else ("headless", "tui"):
                realm = fresh(template, Path(tmp) / f"{side}-{rnd}")
                cpu0, wall0 = cpu_s(), time.perf_counter()
                if side == "tui":
                    tokens, active = asyncio.run(tui_battle(realm, args.steps))
                else:
                    tokens, active = headless_battle(realm, args.steps)
                cpu, wall = cpu_s() - cpu0, time.perf_counter() - wall0
                totals[side][0] += tokens
                totals[side][1] += active
                totals[side][2] += cpu
                speed[side] = tokens / active
                print(
                    f"round {rnd + 1} {side:>8}: {tokens / active:8.1f} tok/s "
                    f"({tokens} tokens in {active:.1f}s of steps; battle {wall:.1f}s, parent CPU {cpu:.2f}s)"
                )
            per_round.append(speed["tui"] / speed["headless"])
        median = statistics.median(per_round)
        print("per-round ratios: " + ", ".join(f"{r:.3f}" for r in per_round) + f"  (median {median:.3f})")
        tui = totals["tui"][0] / totals["tui"][1]
        headless = totals["headless"][0] / totals["headless"][1]
        print(f"TUI open:  {tui:8.1f} tok/s   (parent CPU {totals['tui'][2] / args.rounds:.2f}s per battle)")
        print(f"headless:  {headless:8.1f} tok/s   (parent CPU {totals['headless'][2] / args.rounds:.2f}s per battle)")
        print(f"ratio TUI/headless: {tui / headless:.3f} overall, {median:.3f} median  (target >= 0.97)")
        ui_cpu = sum(c for c, _ in STEP_WINDOW)
        ui_wall = sum(w for _, w in STEP_WINDOW)
        cores = os.cpu_count() or 1
        print(
            f"UI process while training: {ui_cpu:.2f}s CPU over {ui_wall:.1f}s = "
            f"{100 * ui_cpu / ui_wall:.1f}% of one core, {100 * ui_cpu / (ui_wall * cores):.1f}% of this "
            f"{cores}-core machine (the most it can take from the trainer)"
        )


if __name__ == "__main__":
    main()
