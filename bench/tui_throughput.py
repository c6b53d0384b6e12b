"""Training throughput with the TUI open vs the headless loop (`realm train --no-ui`).

The same short battle (dio-nano, skills only, the same batch and steps, from the base hero each time)
runs (1) inside the Textual app, driven headless by `run_test` with the Battle screen (live
plots) on view, and (2) through `battle.headless.run_headless` as `realm train --no-ui --json` runs
it (requests from other terminals looked for, as the CLI does). The figure is the trainer's own
tokens/s (tokens ÷ time spent in optimizer steps, from its last Step event), summed over
interleaved rounds (TUI, headless, headless, TUI …) so that a burst of someone else's work on a
shared machine lands on both sides alike. Also printed: CPU seconds the parent process (the UI,
or the headless loop) used per battle, and the part of it from the trainer's first step to its
last Step (the only part that competes with training; start-up and the final save do not count
in tok/s).

    HF_HUB_OFFLINE=1 .venv/bin/python bench/tui_throughput.py [--steps 40] [--rounds 4] [--batch 8]

While the battle runs the bench only sleeps: `pilot.pause` would post a message to every widget
and force a full screen update each time, work the game never does. On a shared machine the
rounds swing with other people's work (and on Linux with autogroup the trainer shares its
session's CPU slice with the parent, so under load each CPU-second of the UI weighs more); the
median of the per-round ratios is the steadier figure, and the parent's CPU while training is the
load-independent one.

The parent never imports torch (the trainer child does), as in the game."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from realm_tui.battle import headless  # noqa: E402
from realm_tui.battle.bridge import TrainerBridge  # noqa: E402
from realm_tui.battle.headless import run_headless  # noqa: E402
from realm_tui.contract.protocol import Event, Step  # noqa: E402
from realm_tui.paths import RealmPaths  # noqa: E402
from realm_tui.services.init_realm import init_realm  # noqa: E402
from realm_tui.services.requests import BattleRequests  # noqa: E402


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
    """The real bridge; remembers the last Step the trainer sent, and this process's CPU at each poll,
    so that the parent's CPU while the trainer trains is told apart from its start-up and ending."""

    last: Step | None = None
    polls: list[tuple[float, float]] = []
    """(wall, this process's CPU seconds) at each poll until the first Step."""
    began: float | None = None
    """When the trainer's first step began: the first Step's arrival less its training seconds."""
    ended: tuple[float, float] | None = None
    """(wall, CPU) at the last Step's arrival."""

    @classmethod
    def reset(cls) -> None:
        cls.last, cls.polls, cls.began, cls.ended = None, [], None, None

    def events(self, timeout: float = 0.1) -> list[Event]:
        out = super().events(timeout)
        now, cpu = time.perf_counter(), cpu_s()
        if TappedBridge.began is None:
            TappedBridge.polls.append((now, cpu))
        for event in out:
            if isinstance(event, Step):
                if TappedBridge.began is None:
                    TappedBridge.began = now - event.tokens / max(event.tokens_per_s, 1e-9)
                TappedBridge.last, TappedBridge.ended = event, (now, cpu)
        return out

    @classmethod
    def training_window(cls) -> tuple[float, float]:
        """(parent CPU seconds, wall seconds) from the poll before the trainer's first step to the
        last Step's arrival."""
        assert cls.began is not None and cls.ended is not None
        start = [p for p in cls.polls if p[0] <= cls.began] or cls.polls[:1]
        return cls.ended[1] - start[-1][1], cls.ended[0] - start[-1][0]


async def tui_battle(realm: RealmPaths, steps: int) -> tuple[int, float]:
    from realm_tui.ui.app import create_app
    from realm_tui.ui.game import GameOptions
    from realm_tui.ui.models import TrainerState

    TappedBridge.reset()
    app = create_app(realm.root, GameOptions(battle_steps=steps, bridge_factory=TappedBridge, inbox_poll_s=0))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2")  # the Battle screen: live plots, log and readouts
        await pilot.press("s")
        # The bench watches with a plain sleep: `pilot.pause` posts a message to every widget and
        # forces a full screen update each time, work the game never does (it was charged to the UI).
        while app.game.trainer_state is not TrainerState.IDLE or app.game.live is None:
            if app.game.trainer_state is TrainerState.DEAD:
                raise RuntimeError(f"the battle died: {app.game.trainer_detail}")
            await asyncio.sleep(1.0)
    last = TappedBridge.last
    assert last is not None
    return last.tokens, last.tokens / max(last.tokens_per_s, 1e-9)


def headless_battle(realm: RealmPaths, steps: int) -> tuple[int, float]:
    """`realm train --no-ui --json` as the CLI runs it (requests from other terminals included), on
    the tapped bridge."""
    TappedBridge.reset()
    out = io.StringIO()
    with contextlib.redirect_stdout(out), mock.patch.object(headless, "TrainerBridge", TappedBridge):
        code = run_headless(realm, steps=steps, json_events=True, requests=BattleRequests(realm))
    if code != 0:
        raise RuntimeError(f"headless battle exited {code}:\n{out.getvalue()[-2000:]}")
    last = TappedBridge.last
    assert last is not None
    return last.tokens, last.tokens / max(last.tokens_per_s, 1e-9)


def battle(side: str, realm: RealmPaths, steps: int) -> dict[str, float]:
    """One battle on `side`: tokens, training seconds, the parent's CPU over the whole battle and
    while the trainer trained, with the wall seconds of each."""
    cpu0, wall0 = cpu_s(), time.perf_counter()
    tokens, active = asyncio.run(tui_battle(realm, steps)) if side == "tui" else headless_battle(realm, steps)
    window_cpu, window_wall = TappedBridge.training_window()
    return {
        "tokens": tokens,
        "active": active,
        "cpu": cpu_s() - cpu0,
        "wall": time.perf_counter() - wall0,
        "window_cpu": window_cpu,
        "window_wall": window_wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args()
    sides = ("tui", "headless")
    with tempfile.TemporaryDirectory(prefix="tui-bench-") as tmp:
        template = template_realm(Path(tmp) / "template", args.batch)
        totals = {
            side: dict.fromkeys(("tokens", "active", "cpu", "wall", "window_cpu", "window_wall"), 0.0) for side in sides
        }
        per_round: list[float] = []
        for rnd in range(args.rounds):
            speed: dict[str, float] = {}
            # Alternate who goes first, so a slow start or end of someone else's job hits both.
            for side in sides if rnd % 2 == 0 else sides[::-1]:
                got = battle(side, fresh(template, Path(tmp) / f"{side}-{rnd}"), args.steps)
                for key, value in got.items():
                    totals[side][key] += value
                speed[side] = got["tokens"] / got["active"]
                print(
                    f"round {rnd + 1} {side:>8}: {speed[side]:8.1f} tok/s ({got['tokens']:.0f} tokens in "
                    f"{got['active']:.1f}s of steps; battle {got['wall']:.1f}s, parent CPU {got['cpu']:.2f}s, "
                    f"{got['window_cpu']:.2f}s of it while training)",
                    flush=True,
                )
            per_round.append(speed["tui"] / speed["headless"])
        report(totals, per_round, args.rounds)


def report(totals: dict[str, dict[str, float]], per_round: list[float], rounds: int) -> None:
    median = statistics.median(per_round)
    print("per-round ratios: " + ", ".join(f"{r:.3f}" for r in per_round) + f"  (median {median:.3f})")
    speed = {side: t["tokens"] / t["active"] for side, t in totals.items()}
    for side, label in (("tui", "TUI open:"), ("headless", "headless:")):
        print(f"{label:<10} {speed[side]:8.1f} tok/s   (parent CPU {totals[side]['cpu'] / rounds:.2f}s per battle)")
    print(f"ratio TUI/headless: {speed['tui'] / speed['headless']:.3f} overall, {median:.3f} median  (target >= 0.97)")
    # What the parent can take from the trainer: its CPU from the trainer's first step to its last.
    for side in totals:
        cpu, wall = totals[side]["window_cpu"], totals[side]["window_wall"]
        print(f"{side} parent while training: {cpu:.2f}s CPU over {wall:.1f}s = {100 * cpu / wall:.1f}% of one core")


if __name__ == "__main__":
    main()
