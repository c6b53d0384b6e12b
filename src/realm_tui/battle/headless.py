"""`realm train --no-ui`: the same campaign as the game, driven from a plain terminal."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from realm_tui.battle.bridge import TrainerBridge
from realm_tui.battle.conductor import Conductor
from realm_tui.battle.launched import LaunchedBridge
from realm_tui.battle.plain_render import PlainRenderer
from realm_tui.battle.render import JsonRenderer, Renderer, RichRenderer
from realm_tui.battle.setup import plan_battle
from realm_tui.battle.watch import open_watch
from realm_tui.config.realm_config import load_realm_configs
from realm_tui.contract.protocol import Stopped
from realm_tui.paths import RealmPaths
from realm_tui.rules.notifications import Notification
from realm_tui.store import HeroRecord, Store

GOOD_ENDINGS = {"finished", "requested", "signal", "closing"}


def _note_text(note: Notification) -> str:
    return f"{note.title}: {note.body}"


def _renderer(json_events: bool) -> Renderer:
    """JSON lines for scripts; the rich bar on a terminal; plain lines into a pipe or a file (where
    the rich bar would draw nothing)."""
    if json_events:
        return JsonRenderer()
    return RichRenderer() if sys.stdout.isatty() else PlainRenderer()


def run_headless(
    realm: RealmPaths,
    *,
    hero_id: str | None = None,
    quest: Path | None = None,
    steps: int | None = None,
    resume: bool = True,
    json_events: bool = False,
    school: str = "scribe",
    school_options: dict[str, Any] | None = None,
    oracle_loss: dict[str, Any] | None = None,
    launch: str | None = None,
) -> int:
    """Run one battle to its end; returns the process exit code (0 on a graceful end).

    `launch`: a launcher command (`accelerate launch --config_file …`, `torchrun …`) to run the
    trainer on many processes (`battle.launched`); None: one spawned child."""
    configs = load_realm_configs(realm.configs)
    renderer: Renderer = _renderer(json_events)
    with Store.open(realm.store_file) as store:
        for warning in store.warnings:
            renderer.message(f"warning: {warning}")
        plan = plan_battle(
            realm,
            configs,
            store,
            hero_id=hero_id,
            quest=quest,
            steps=steps,
            resume=resume,
            school=school,
            school_options=school_options,
            oracle_loss=oracle_loss,
        )
        for note in plan.notes:
            renderer.message(note)
        if plan.hero.id not in store.heroes:
            store.heroes.add(HeroRecord(id=plan.hero.id, name=plan.hero.name))
        where = f"resuming from {plan.resumed_from.name}" if plan.resumed_from else "from the base hero"
        renderer.message(
            f"{plan.hero.name} enters battle: campaign {plan.campaign.id}, quest {plan.quest_id}, "
            f"steps {plan.job.max_steps - (plan.resumed_from.step if plan.resumed_from else 0)} ({where})"
        )
        conductor = Conductor(
            store, realm, plan.hero, plan.campaign.id, plan.quest_id, plan.keeper, board_quest=plan.board_quest
        )
        watch = open_watch(conductor, say=renderer.message, json_out=sys.stdout if json_events else None)
        bridge: TrainerBridge | LaunchedBridge = (
            LaunchedBridge(launch, realm.saves / "jobs") if launch else TrainerBridge()
        )
        stop_requests = 0

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            nonlocal stop_requests
            stop_requests += 1
            if stop_requests == 1:
                renderer.message("stopping: saving a checkpoint at the next step boundary (Ctrl-C again to force)")
                bridge.stop("signal")
            else:
                bridge.kill()

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        stopped: Stopped | None = None
        try:
            bridge.start(plan.job)
            if isinstance(bridge, LaunchedBridge):
                renderer.message(f"launched {launch!r} with the job {bridge.job_path}")
            while stopped is None:
                for event in bridge.events(timeout=0.25):
                    notes = conductor.apply(event)
                    renderer.show(event, [_note_text(n) for n in notes])
                    watch.on_event(event)
                    for command in conductor.take_commands():
                        bridge.send(command)
                    if isinstance(event, Stopped):
                        stopped = event
                if isinstance(renderer, PlainRenderer):
                    renderer.tick()  # a line at least every few seconds, even while no step arrives
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            bridge.close(grace=60.0)
            watch.close()
            renderer.close()
    return 0 if stopped.reason in GOOD_ENDINGS else 1
