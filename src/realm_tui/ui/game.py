"""What the App wires together: realm, configs, the store (this process is its one writer),
the services the screens call over it (records, campaigns, quest board, vault, sparring, oracle
client), the battle controller, plus UI caches. Screens go through the services, never the store.

`Game.open` runs before the App starts, so a broken config or a locked store ends in the CLI's
one-line error instead of a half-drawn screen.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from textual.message import Message

from realm_tui.armory.knobs import Environment
from realm_tui.battle.bridge import TrainerBridge
from realm_tui.battle.preflight import probe_environment
from realm_tui.battle.telemetry import HardwareProbe, HardwareReport
from realm_tui.config.hero import HeroConfig
from realm_tui.config.realm_config import DEFAULT_HERO, RealmConfigs, load_realm_configs
from realm_tui.errors import StoreError
from realm_tui.paths import RealmPaths
from realm_tui.services.archaeology import Archaeology
from realm_tui.services.armory import ArmoryForm, VramEstimate, estimate_vram
from realm_tui.services.campaigns import CampaignDesk
from realm_tui.services.oracle import OracleClient, OracleTarget, oracle_main
from realm_tui.services.paths import PathDesk
from realm_tui.services.quest_board import QuestBoard
from realm_tui.services.records import Records
from realm_tui.services.schools import SchoolDesk
from realm_tui.services.sparring import Sparring
from realm_tui.services.vault import DiskUsage, Vault, _disk_usage
from realm_tui.store import Store, read_holder_pid
from realm_tui.ui.battle_follow import FollowedBattle
from realm_tui.ui.battle_runner import BattleController, BridgeLike
from realm_tui.ui.models import BattleSnapshot, LogLine, TrainerState
from realm_tui.ui.views import log_line

LOG_KEPT = 500


def launch_headless(realm: RealmPaths) -> int:
    """Start `realm train --no-ui` detached (new session, output to saves/headless.log); its pid."""
    log_path = realm.saves / "headless.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "realm_tui", "--home", str(realm.root), "train", "--no-ui"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            cwd=str(realm.root),
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    return proc.pid


def prepare_spawn() -> None:
    """Start multiprocessing's resource tracker before Textual takes the terminal.

    Every spawn-context process start makes sure the tracker runs, and launching it passes
    `sys.stderr.fileno()` to its child; inside a Textual app stderr is a capture object whose
    fileno() is -1, so a tracker launched there fails with "bad value(s) in fds_to_keep".
    """
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()


@dataclass
class GameOptions:
    """Knobs for the app factory; the defaults are the real game, tests swap pieces."""

    battle_steps: int | None = None
    """Steps per battle started from the UI (None: up to the next hero level, as headless)."""
    bridge_factory: Callable[[], BridgeLike] = TrainerBridge
    oracle_target: OracleTarget = oracle_main
    disk_usage: DiskUsage = _disk_usage
    inbox_poll_s: float = 2.0
    """How often quests/inbox/ is scanned (0 disables the timer)."""
    requests_poll_s: float = 0.5
    """How often the idle game (the store's writer) looks for requests from other terminals (0: never)."""
    stop_grace_s: float = 120.0
    """How long a graceful stop may take before the trainer is killed."""
    launch_headless: Callable[[RealmPaths], int] = launch_headless
    ui_step_interval_s: float = 1.0
    """The battle worker hands a step snapshot to the UI at most this often (the trainer sends
    a few per second; each snapshot carries the whole plotted history, so nothing is lost)."""
    plot_interval_s: float = 5.0
    """Plots redraw at most this often (plotext is the UI's most expensive render)."""
    jobs_interval_s: float = 2.0
    """The Battle screen's jobs table refreshes this often (each wake-up competes with the trainer)."""
    estimate_vram: Callable[[RealmConfigs, ArmoryForm], VramEstimate] = estimate_vram
    """The Armory's VRAM estimate (tests pin it so snapshots do not follow the formulas)."""
    probe_environment: Callable[[], Environment | None] = probe_environment
    """What this machine can do (CUDA, bitsandbytes, flash-attn), probed in a subprocess and cached;
    the Armory runs it in a thread when a knob depends on the machine (tests pin a machine)."""
    realm_label: str | None = None
    """How the status bar names the realm (default: its folder, `~`-relative)."""
    read_hardware: Callable[[], HardwareReport] = field(default_factory=HardwareProbe)
    """The hardware panels' reading (one cached probe per app; tests pin a machine)."""


@dataclass
class Game:
    realm: RealmPaths
    configs: RealmConfigs
    store: Store
    options: GameOptions = field(default_factory=GameOptions)
    readonly_reason: str = ""
    """Why the store was opened read-only (another process holds it), or empty."""
    live: BattleSnapshot | None = None
    """The latest battle snapshot (UI thread cache)."""
    trainer_state: TrainerState = TrainerState.IDLE
    trainer_detail: str = ""
    log: deque[LogLine] = field(default_factory=lambda: deque(maxlen=LOG_KEPT))

    def __post_init__(self) -> None:
        self.records = Records(self.store)
        self.campaigns = CampaignDesk(self.realm, self.store)
        self.board = QuestBoard(self.realm, self.store, hero=self.current_hero)
        self.vault = Vault(self.realm, self.store, self.options.disk_usage)
        self.sparring = Sparring(self.realm, self.store)
        self.archaeology = Archaeology(self.realm, self.store)
        self.paths = PathDesk(self.realm, self.store)  # [paths] which path a campaign follows
        self.schools = SchoolDesk(self.realm, self.store)  # [arena] which school a campaign trains in
        self.oracle = OracleClient(self.options.oracle_target)
        self.battle = BattleController(self, lambda _m: None)
        self._closed = False
        self.log.extend(log_line(e) for e in self.records.recent_events())

    @classmethod
    def open(cls, realm: RealmPaths, options: GameOptions | None = None) -> Game:
        prepare_spawn()
        configs = load_realm_configs(realm.configs)
        reason = ""
        try:
            store = Store.open(realm.store_file)
        except StoreError:
            holder = read_holder_pid(realm.store_file)
            store = Store.open(realm.store_file, readonly=True)
            who = f"process {holder}" if holder else "another process"
            reason = f"{who} holds the store (a headless battle?): the game is read-only until it ends"
        return cls(realm, configs, store, options or GameOptions(), readonly_reason=reason)

    def connect(self, post: Callable[[Message], object]) -> None:
        """Route the battle worker's messages to the App (read-only: the followed battle's)."""
        self.battle = FollowedBattle(self, post) if self.readonly else BattleController(self, post)

    def follow(self) -> None:
        """Read-only: start following the battle another process runs (call once the App runs)."""
        if isinstance(self.battle, FollowedBattle):
            self.battle.start()
            if isinstance(self.options.read_hardware, HardwareProbe):  # its RSS: the battle's process and trainer
                self.options.read_hardware.follow(read_holder_pid(self.realm.store_file))

    def current_hero(self) -> HeroConfig | None:
        """The hero of the current campaign (the default hero before the first battle)."""
        campaign = self.records.current_campaign()
        return self.configs.heroes.get(campaign.hero_id if campaign else DEFAULT_HERO)

    @property
    def readonly(self) -> bool:
        return bool(self.readonly_reason)

    def reload_configs(self) -> RealmConfigs:
        """Read configs/ again (the Armory wrote it, or the player edited a file)."""
        self.configs = load_realm_configs(self.realm.configs)
        return self.configs

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if isinstance(self.battle, FollowedBattle):
            self.battle.stop_following()
        self.oracle.close()
        self.store.close()


def realm_label(root: Path) -> str:
    home = Path.home()
    try:
        return "~/" + root.relative_to(home).as_posix()
    except ValueError:
        return str(root)
