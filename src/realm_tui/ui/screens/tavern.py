"""The Tavern (home): the hero sheet and the live battle box."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from realm_tui.ui.literal import escape
from realm_tui.ui.lore_text import LoreStatic
from realm_tui.ui.messages import BattleLogged, CheckpointAdded, QuestBoardChanged, StepUpdate, TrainerStateChanged
from realm_tui.ui.models import format_bytes
from realm_tui.ui.screens.base import RealmScreen
from realm_tui.ui.views import build_hero_sheet
from realm_tui.ui.widgets.battle import BattleLog
from realm_tui.ui.widgets.hardware import HardwarePanel
from realm_tui.ui.widgets.hero import BattleBox, HeroCard

QUEUE_SHOWN = 4
ELSEWHERE_POLL_S = 5.0
"""How often a read-only game asks who holds the store and at which step its battle is (the
battle records its step at every checkpoint and at least every 30 s; a poll parses the store)."""


class TavernScreen(RealmScreen):
    MODE = "tavern"

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="tavern"):
            yield HeroCard(id="hero-card", classes="panel")
            with Vertical(id="tavern-right"):
                yield Static("", id="tavern-elsewhere", classes="panel")
                yield BattleBox(id="battle-box", classes="panel")
                yield HardwarePanel(self.game.options.read_hardware, compact=True, id="tavern-hardware")
                yield LoreStatic("", id="tavern-queue", classes="panel")
                yield BattleLog(id="tavern-log", classes="panel")

    def on_mount(self) -> None:
        self.query_one("#tavern-queue").border_title = "Quest queue"
        self.query_one("#tavern-log").border_title = "Latest news"
        elsewhere = self.query_one("#tavern-elsewhere", Static)
        elsewhere.border_title = "Another process holds the realm"
        elsewhere.styles.padding = (0, 1)
        elsewhere.display = self.game.readonly
        if self.game.readonly:  # the battle runs in another process: say who, since when, which step
            self._show_elsewhere()
            self.set_interval(ELSEWHERE_POLL_S, self._show_elsewhere)

    def _show_elsewhere(self) -> None:
        from realm_tui.services.battle_status import battle_elsewhere

        running = battle_elsewhere(self.game.realm)
        if running is not None:
            text = escape(running.line())
        else:
            text = "[dim]That process has let go of the store: reopen realm to play (this window stays read-only).[/]"
        self.query_one("#tavern-elsewhere", Static).update(text)

    def refresh_view(self) -> None:
        game = self.game
        self.query_one(HeroCard).show(build_hero_sheet(game.configs, game.records.progress(), game.live))
        self._show_battle()
        self._show_queue()
        self.query_one(BattleLog).show_all(list(game.log)[-50:])

    def _quest_line(self) -> str | None:
        """What the battle trains while one runs (its quest and skills), else the next queued quest."""
        game = self.game
        if game.trainer_state.busy:
            return game.battle.training_now
        entries = [e for e in game.board.summary(done_shown=0).entries if e.state == "queued"]
        return entries[0].id if entries else None

    def _show_battle(self) -> None:
        game = self.game
        self.query_one(BattleBox).show(game.trainer_state, game.live, self._quest_line())

    def _show_queue(self) -> None:
        summary = self.game.board.summary(done_shown=0)
        queued = [e for e in summary.entries if e.state in ("queued", "processing")]
        counts = summary.counts
        lines = [
            f"high [b]{counts.get('high', 0)}[/] · normal [b]{counts.get('normal', 0)}[/] "
            f"· low [b]{counts.get('low', 0)}[/]"
            f" · inbox {counts.get('inbox', 0)} · failed {counts.get('failed', 0)}"
        ]
        for entry in queued[:QUEUE_SHOWN]:
            mark = "⚔" if entry.state == "processing" else "·"
            lines.append(f"{mark} [b]{escape(entry.id)}[/] [dim]{entry.priority}, {format_bytes(entry.size_bytes)}[/]")
        if len(queued) > QUEUE_SHOWN:
            lines.append(f"[dim]… {len(queued) - QUEUE_SHOWN} more on the Quest Board (3)[/]")
        if not queued:
            lines.append("[dim]Empty: add a quest on the Quest Board (3) or drop a .jsonl into quests/inbox/[/]")
        self.query_one("#tavern-queue", Static).update("\n".join(lines))

    # ------------------------------------------------------------ forwarded messages

    def on_step_update(self, message: StepUpdate) -> None:
        game = self.game
        card = self.query_one(HeroCard)
        if card.campaign_id != message.snapshot.campaign_id:
            self.refresh_view()  # the battle started a new campaign: read the hero sheet again
            return
        self.query_one(BattleBox).show(game.trainer_state, message.snapshot, self._quest_line())
        card.show_live(message.snapshot)

    def on_trainer_state_changed(self, message: TrainerStateChanged) -> None:
        self._show_battle()

    def on_checkpoint_added(self, message: CheckpointAdded) -> None:
        self.refresh_view()

    def on_quest_board_changed(self, message: QuestBoardChanged) -> None:
        self._show_queue()

    def on_battle_logged(self, message: BattleLogged) -> None:
        self.query_one(BattleLog).add(message.line)
