"""`realm train --no-ui`: the same campaign as the game, driven from a plain terminal.

The battle itself is `battle.session.BattleSession`, as in the game; this module picks the sink
(rich bar, plain lines or JSON lines), the bridge (one child or a launcher) and turns Ctrl-C into a
graceful stop (again, later: a kill).
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from realm_tui.battle.bridge import TrainerBridge
from realm_tui.battle.event_log import EventLogSink
from realm_tui.battle.launched import LaunchedBridge
from realm_tui.battle.plain_render import LineSink, PlainRenderer
from realm_tui.battle.render import JsonRenderer, RichRenderer
from realm_tui.battle.session import BattleSession, BridgeLike, RequestHook, SessionTimings, good_ending
from realm_tui.battle.setup import BattlePlan, plan_battle
from realm_tui.battle.watch import DEFAULT_REPORTS, WatchSink
from realm_tui.config.curriculum import StopWhenConfig
from realm_tui.config.realm_config import load_realm_configs
from realm_tui.config.settings import Settings, load_settings
from realm_tui.contract.protocol import Stop, StopReason
from realm_tui.errors import InputError
from realm_tui.paths import RealmPaths
from realm_tui.store import Store

HEADLESS_TIMINGS = SessionTimings(poll_s=0.25, close_grace_s=60.0, stop_grace_s=None, kill_on_failure=False)
"""No one waits on a terminal: a stop takes as long as its checkpoint, a failed session still lets
the trainer save one."""


def _renderer(json_events: bool, settings: Settings | None = None) -> LineSink:
    """JSON lines for scripts; the rich bar on a terminal; plain lines into a pipe or a file (where
    the rich bar would draw nothing). `settings`: the bell and the moments (`configs/settings.yaml`)."""
    settings = settings or Settings()
    if json_events:
        return JsonRenderer()
    if sys.stdout.isatty():
        return RichRenderer(bell=settings.bell, moments=settings.moments)
    plain = PlainRenderer()
    plain.moments = settings.moments
    return plain


def _bridge(realm: RealmPaths, launch: str | None) -> tuple[BridgeLike, Callable[[], str] | None]:
    """One spawned child, or a launcher (`battle.launched`) and the line that names its job file."""
    if not launch:
        return TrainerBridge(), None
    launched = LaunchedBridge(launch, realm.saves / "jobs")
    return launched, lambda: f"launched {launch!r} with the job {launched.job_path}"


SAME_INTERRUPT_S = 0.5
"""A second SIGINT/SIGTERM this soon after the first is the same interrupt, delivered twice:
`timeout` (and other supervisors) signal the command and then its whole process group, which is
not a player pressing Ctrl-C again to force the stop."""


def interrupt_action(first_at: float | None, now: float) -> str | None:
    """What a SIGINT/SIGTERM at `now` asks for, the first having come at `first_at` (None: this is
    the first): "stop" (checkpoint, then stop), "kill" (a later press forces it), or None (the
    first interrupt delivered twice, within SAME_INTERRUPT_S)."""
    if first_at is None:
        return "stop"
    return "kill" if now - first_at >= SAME_INTERRUPT_S else None


@contextmanager
def _stop_on_signals(session: BattleSession) -> Iterator[None]:
    """SIGINT/SIGTERM: the first asks for a checkpoint and a stop, a later one kills the trainer."""
    first_at: float | None = None

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        nonlocal first_at
        now = time.monotonic()
        action = interrupt_action(first_at, now)
        if action == "stop":
            first_at = now
            session.say("stopping: saving a checkpoint at the next step boundary (Ctrl-C again to force)")
            session.request(Stop(reason=StopReason.SIGNAL))
        elif action == "kill":
            session.kill()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def battle_stop_rule(config: StopWhenConfig, rule: str | None, plateau_evals: int | None) -> StopWhenConfig:
    """`--stop-when` / `--plateau-evals` over curriculum.yaml's `stop_when` (InputError: evals
    without the plateau rule, which would silently do nothing)."""
    chosen = StopWhenConfig(
        rule=rule or config.rule,  # type: ignore[arg-type]  # the CLI's choices are the config's
        plateau_evals=plateau_evals if plateau_evals is not None else config.plateau_evals,
    )
    if plateau_evals is not None and chosen.rule != "plateau":
        raise InputError(
            None,
            "--plateau-evals: only with --stop-when plateau (or stop_when.rule: plateau in configs/curriculum.yaml)",
        )
    return chosen


def run_headless(
    realm: RealmPaths,
    *,
    hero_id: str | None = None,
    quest: Path | None = None,
    steps: int | None = None,
    resume: bool = True,
    json_events: bool = False,
    school: str | None = None,
    school_options: dict[str, Any] | None = None,
    oracle_loss: dict[str, Any] | None = None,
    launch: str | None = None,
    requests: RequestHook | None = None,
    path: str | None = None,
    stop_when: str | None = None,
    plateau_evals: int | None = None,
    reports: tuple[str, ...] = DEFAULT_REPORTS,
) -> int:
    """Run one battle to its end; returns the process exit code (0 on a graceful end).

    `launch`: a launcher command (`accelerate launch --config_file …`, `torchrun …`) to run the
    trainer on many processes (`battle.launched`); None: one spawned child. `path`: follow this
    path (`technique@domain`) from now on (`battle.path_choice`). `stop_when`,
    `plateau_evals`: this battle's stop rule over curriculum.yaml's (`battle_stop_rule`).
    `reports`: where the metrics go (`tensorboard`, `wandb`)."""
    bridge, started_note = _bridge(realm, launch)
    if isinstance(bridge, TrainerBridge):
        bridge.spawn()  # the trainer's imports run while this process plans the battle
    try:
        return _run(
            bridge,
            started_note,
            realm,
            hero_id=hero_id,
            quest=quest,
            steps=steps,
            resume=resume,
            json_events=json_events,
            school=school,
            school_options=school_options,
            oracle_loss=oracle_loss,
            requests=requests,
            path=path,
            stop_when=stop_when,
            plateau_evals=plateau_evals,
            reports=reports,
        )
    finally:
        if isinstance(bridge, TrainerBridge):
            bridge.discard()  # a battle refused before its start: the child spawned ahead ends


def _run(
    bridge: BridgeLike,
    started_note: Callable[[], str] | None,
    realm: RealmPaths,
    *,
    hero_id: str | None,
    quest: Path | None,
    steps: int | None,
    resume: bool,
    json_events: bool,
    school: str | None,
    school_options: dict[str, Any] | None,
    oracle_loss: dict[str, Any] | None,
    requests: RequestHook | None,
    path: str | None,
    stop_when: str | None,
    plateau_evals: int | None,
    reports: tuple[str, ...],
) -> int:
    configs = load_realm_configs(realm.configs)
    stop_rule = battle_stop_rule(configs.curriculum.stop_when, stop_when, plateau_evals)
    sink = _renderer(json_events, load_settings(realm))
    with Store.open(realm.store_file) as store:

        def plan() -> BattlePlan:
            return plan_battle(
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
                path=path,
                stop_when=stop_rule,
            )

        watch = WatchSink(
            say=lambda text: session.say(text, kind="error"),
            json_out=sys.stdout if json_events else None,
            reports=reports,
        )
        session = BattleSession(
            store,
            realm,
            plan,
            lambda: bridge,
            [sink, watch, EventLogSink(realm, say=lambda text: session.say(text, kind="error"))],
            timings=HEADLESS_TIMINGS,
            started_note=started_note,
            requests=requests,
        )
        with session:
            for warning in store.warnings:
                session.say(f"warning: {warning}")
            session.prepare()
            with _stop_on_signals(session):
                stopped = session.fight()
    return 0 if good_ending(stopped) else 1
