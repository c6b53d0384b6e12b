"""The Tavern's hero card and live battle box."""

from __future__ import annotations

from dataclasses import replace

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, Static

from realm_tui.ui.literal import escape
from realm_tui.ui.lore_text import LoreStatic, attach_lore
from realm_tui.ui.models import BattleSnapshot, TrainerState, format_duration, format_loss
from realm_tui.ui.views import HeroSheet
from realm_tui.ui.widgets.text import bar, set_live, zone_label

XP_BAR = 18


class HeroCard(Vertical):
    """Portrait, name, title, level and XP bar, ATK/DEF/ACC/gold and the campaign."""

    DEFAULT_CSS = """
    HeroCard { height: auto; }
    HeroCard > #portrait { color: $accent; padding: 0 1; }
    HeroCard > #title { color: $warning; text-style: italic; }
    HeroCard > #level, HeroCard > #stats { height: 1; }
    """

    def compose(self) -> ComposeResult:
        yield Static("", id="portrait")
        yield attach_lore(Label("", id="title"), "hero.title")
        yield LoreStatic("", id="level")
        yield LoreStatic("", id="stats")
        yield LoreStatic("", id="campaign")

    _sheet: HeroSheet | None = None

    @property
    def campaign_id(self) -> str | None:
        return self._sheet.campaign_id if self._sheet is not None else None

    def show(self, sheet: HeroSheet) -> None:
        self._sheet = sheet
        self.border_title = sheet.name
        self.query_one("#portrait", Static).update(escape(sheet.portrait) or "(no portrait)")
        self.query_one("#title", Label).update(f"« {escape(sheet.title)} »")
        self.show_stats(sheet)
        campaign = sheet.campaign_id or "no campaign yet"
        self.query_one("#campaign", Static).update(
            f"[dim]campaign[/] {escape(campaign)} [dim]({sheet.campaign_status})[/]"
        )

    def show_live(self, snapshot: BattleSnapshot) -> None:
        """Level, XP and ATK/DEF from the running battle (ACC stays the store's: evals are rare)."""
        sheet = self._sheet
        if sheet is None or sheet.campaign_id != snapshot.campaign_id:
            return
        self.show_stats(replace(sheet, stats=replace(snapshot.stats, acc=sheet.stats.acc)))

    def show_stats(self, sheet: HeroSheet) -> None:
        st = sheet.stats
        set_live(
            self.query_one("#level", Static),
            f"[b]Level {st.level}[/]  [$success]{bar(st.level_progress, XP_BAR)}[/] "
            f"{st.xp_into_level}/{st.xp_into_level + st.xp_for_next} XP",
        )
        set_live(
            self.query_one("#stats", Static),
            f"ATK [b]{st.atk}[/]  DEF [b]{st.defense}[/]  ACC [b]{st.acc:.0%}[/]  Gold [b $warning]{st.gold}[/]",
        )


class ZoneBadge(Label):
    """The strain zone, coloured: Recovery / Productive / Stretch / Overload."""

    DEFAULT_CSS = """
    ZoneBadge { width: 14; height: 1; padding: 0 1; background: $panel; color: $text-muted; }
    ZoneBadge.-recovery { background: $primary; color: $text; }
    ZoneBadge.-productive { background: $success; color: $text; }
    ZoneBadge.-stretch { background: $warning; color: $text; }
    ZoneBadge.-overload { background: $error; color: $text; }
    """

    def show(self, zone: str | None) -> None:
        for name in ("recovery", "productive", "stretch", "overload"):
            self.set_class(zone == name, f"-{name}")
        set_live(self, zone_label(zone))
        attach_lore(self, f"zone.{zone}" if zone in ("recovery", "productive", "stretch", "overload") else "zone")


class BattleBox(Vertical):
    """Quest, step, loss, strain zone, tokens/s, ETA, and the keys that drive the battle."""

    DEFAULT_CSS = """
    BattleBox { height: auto; }
    BattleBox > .row { height: 1; }
    """

    def compose(self) -> ComposeResult:
        yield LoreStatic("", id="quest", classes="row")
        yield LoreStatic("", id="progress", classes="row")
        yield LoreStatic("", id="loss", classes="row")
        yield ZoneBadge("—", id="zone")
        yield Static("", id="speed", classes="row")
        yield Static("", id="keys", classes="row")

    def on_mount(self) -> None:
        self.border_title = "Battle"

    def show(self, state: TrainerState, snapshot: BattleSnapshot | None, quest_line: str | None) -> None:
        """`quest_line`: while a battle runs, what it trains (None: the snapshot's quest, as for a
        battle followed from another process); idle, the next queued quest."""
        busy = state.busy
        if busy:
            quest = quest_line or (snapshot.quest_id if snapshot is not None else "starting…")
        else:
            quest = quest_line or "none queued"
        label = "trains" if busy else "next quest"
        set_live(self.query_one("#quest", Static), f"[dim]{label}[/] [b]{escape(quest)}[/]  [dim]({state.value})[/]")
        if snapshot is None:
            set_live(self.query_one("#progress", Static), "[dim]no battle yet this session[/]")
            set_live(self.query_one("#loss", Static), "")
            set_live(self.query_one("#speed", Static), "")
            self.query_one(ZoneBadge).show(None)
        else:
            set_live(
                self.query_one("#progress", Static),
                f"step [b]{snapshot.step}[/]/{snapshot.max_steps} {bar(snapshot.progress, 16)}",
            )
            set_live(
                self.query_one("#loss", Static),
                f"loss [b]{format_loss(snapshot.loss)}[/]  ema {format_loss(snapshot.loss_ema)}  "
                f"val {format_loss(snapshot.val_loss)}",
            )
            set_live(
                self.query_one("#speed", Static),
                f"{snapshot.tokens_per_s:,.0f} tok/s  ETA {format_duration(snapshot.eta_s) if busy else '—'}",
            )
            self.query_one(ZoneBadge).show(snapshot.zone)
        keys = {
            TrainerState.IDLE: "[b]s[/] start",
            TrainerState.DEAD: "[b]s[/] start again",
            TrainerState.STARTING: "[b]x[/] stop",
            TrainerState.TRAINING: "[b]p[/] pause  [b]x[/] stop",
            TrainerState.PAUSED: "[b]r[/] resume  [b]x[/] stop",
            TrainerState.STOPPING: "saving a checkpoint…",
        }[state]
        set_live(self.query_one("#keys", Static), f"[dim]keys:[/] {keys}")
