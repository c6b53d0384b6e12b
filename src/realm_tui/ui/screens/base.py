"""The base of every game screen: navigation bar, body, status bar and footer.

A screen reads the game through `self.game` (handed over by the App) and its services (never the
store itself), refreshes itself when it is shown (`refresh_view`), and receives the App's
forwarded messages while it is the active one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, cast

from textual.app import ComposeResult
from textual.containers import Container
from textual.screen import Screen
from textual.widgets import Footer

from realm_tui.ui.game import realm_label
from realm_tui.ui.messages import StepUpdate, TrainerStateChanged
from realm_tui.ui.widgets.chrome import NavBar, StatusBar

if TYPE_CHECKING:
    from realm_tui.ui.game import Game


class GameHost(Protocol):
    game: Game


class RealmScreen(Screen[None]):
    """Chrome around `compose_body`; `refresh_view` on every resume."""

    MODE = ""
    """The mode (`tavern`, `battle` …) this screen is the base of."""

    @property
    def game(self) -> Game:
        return cast(GameHost, self.app).game

    def compose(self) -> ComposeResult:
        yield NavBar(self.MODE, id="nav")
        with Container(id="body"):
            yield from self.compose_body()
        label = self.game.options.realm_label or realm_label(self.game.realm.root)
        yield StatusBar(label, id="status")
        yield Footer(show_command_palette=False)

    def compose_body(self) -> ComposeResult:
        yield from ()

    def on_screen_resume(self) -> None:
        self._show_status()
        self.refresh_view()

    def refresh_view(self) -> None:
        """Re-read what the screen shows (through the Game's services, and the App's caches)."""

    def _show_status(self) -> None:
        game = self.game
        self.query_one(StatusBar).show(game.trainer_state, game.trainer_detail, game.live, game.readonly_reason)

    def on_trainer_state_changed(self, message: TrainerStateChanged) -> None:
        self._show_status()

    def on_step_update(self, message: StepUpdate) -> None:
        self.query_one(StatusBar).show_step(message.snapshot)

    def writable(self) -> bool:
        """False (and says why) while another process holds the store."""
        if self.game.readonly:
            self.notify_refusal(f"read-only: {self.game.readonly_reason}")
            return False
        return True

    def notify_refusal(self, text: str) -> None:
        self.app.notify(text, title="Not done", severity="warning", timeout=6, markup=False)
