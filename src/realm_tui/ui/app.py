"""The Textual app. For now a single Tavern placeholder; the TUI issue builds the screens."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Header, Static

from realm_tui.paths import RealmPaths

WELCOME = """[b]Realm of Training[/b]

Your hero is a language model; battles are training runs.

The full Tavern is being built. Until then, fight from the shell:
  [b]realm train --no-ui[/b]        train the default hero headless
  [b]realm doctor[/b]               check this machine and realm

Realm: {root}
"""


class RealmApp(App[None]):
    TITLE = "Realm of Training"
    BINDINGS = [Binding("q", "quit", "Quit", id="quit", tooltip="Leave the realm")]

    def __init__(self, realm: RealmPaths) -> None:
        super().__init__()
        self.realm = realm

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(WELCOME.format(root=self.realm.root), id="tavern")
        yield Footer()
