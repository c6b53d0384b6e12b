"""Start the Textual app. Kept tiny so the CLI imports textual only when the TUI opens."""

from __future__ import annotations

from realm_tui.paths import RealmPaths


def run_tui(realm: RealmPaths) -> None:
    from realm_tui.ui.app import RealmApp

    RealmApp(realm).run()
