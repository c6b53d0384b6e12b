"""Screen chrome: the navigation bar at the top and the status bar at the bottom."""

from __future__ import annotations

from textual.widgets import Static

from realm_tui.ui.keys import SCREENS
from realm_tui.ui.literal import escape
from realm_tui.ui.lore_text import LoreStatic
from realm_tui.ui.models import BattleSnapshot, TrainerState, format_duration
from realm_tui.ui.widgets.text import set_live


class NavBar(Static):
    """` Realm of Training  1 Tavern  2 Battle …` with the current screen highlighted (clickable)."""

    DEFAULT_CSS = """
    NavBar {
        height: 1;
        background: $panel;
        color: $text-muted;
    }
    """

    def __init__(self, active: str, **kwargs: object) -> None:
        super().__init__(self._markup(active), markup=True, **kwargs)  # type: ignore[arg-type]

    @staticmethod
    def _markup(active: str) -> str:
        parts = ["[b $accent] ⚔ Realm of Training [/]"]
        for s in SCREENS:
            label = f" {s.number} {s.short} "
            if s.mode == active:
                parts.append(f"[reverse b]{label}[/]")
            else:
                parts.append(f"[@click=app.goto('{s.mode}')]{label}[/]")
        parts.append("[dim] ? keys[/]")
        return "".join(parts)


STATE_STYLE = {
    TrainerState.IDLE: "$text-muted",
    TrainerState.STARTING: "$warning",
    TrainerState.TRAINING: "$success",
    TrainerState.PAUSED: "$warning",
    TrainerState.STOPPING: "$warning",
    TrainerState.DEAD: "$error",
}


class StatusBar(LoreStatic):
    """Trainer state, the battle's step and speed, and the realm folder."""

    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        background: $panel;
        color: $text;
    }
    """

    def __init__(self, realm: str, **kwargs: object) -> None:
        super().__init__("", markup=True, **kwargs)
        self.realm = realm
        self.state = TrainerState.IDLE
        self.detail = ""
        self.snapshot: BattleSnapshot | None = None
        self.readonly = ""

    def show(
        self,
        state: TrainerState,
        detail: str = "",
        snapshot: BattleSnapshot | None = None,
        readonly: str = "",
    ) -> None:
        self.state, self.detail, self.snapshot, self.readonly = state, detail, snapshot, readonly
        set_live(self, self._markup())

    def show_step(self, snapshot: BattleSnapshot) -> None:
        self.snapshot = snapshot
        set_live(self, self._markup())

    def _markup(self) -> str:
        style = STATE_STYLE[self.state]
        parts = [f"[b reverse {style}] {self.state.value.upper()} [/]"]
        snap = self.snapshot
        if snap is not None and self.state.busy:
            parts.append(
                f" step {snap.step}/{snap.max_steps}{f' · {snap.step_part}' if snap.step_part else ''}"
                f" · {snap.tokens_per_s:,.0f} tok/s"
                f" · ETA {format_duration(snap.eta_s)}"
            )
        if self.detail:
            parts.append(f" [dim]{escape(self.detail)}[/]")
        if self.readonly:
            parts.append(" [b $error]read-only store[/]")
        parts.append(f"  [dim]realm {escape(self.realm)}[/]")
        return "".join(parts)
