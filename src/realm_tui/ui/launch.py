"""Start the Textual app. Kept tiny so the CLI imports textual only when the TUI opens."""

from __future__ import annotations

import sys

from realm_tui.paths import RealmPaths


def run_tui(realm: RealmPaths) -> None:
    """Open the game. Leaving a battle to "keep training" starts `realm train --no-ui` detached."""
    from realm_tui.ui.app import RealmApp
    from realm_tui.ui.game import Game

    game = Game.open(realm)
    app = RealmApp(game)
    try:
        app.run()
    finally:
        game.close()
    if app.headless_pid is not None:
        log = realm.saves / "headless.log"
        sys.stderr.write(f"The battle goes on headless (pid {app.headless_pid}); follow it in {log}\n")
