"""Player settings (`configs/settings.yaml`, optional): the bell and the on-screen moments.

Every field has a default, so the file may be absent or list only what it changes:

    bell: false          # no terminal bell at a level-up, a new champion or a maxed-out verdict
    moments: true        # the banner over the screen (the TUI) and the highlighted line (headless)
    moment_seconds: 3.0  # how long a banner stays; any key skips it
"""

from __future__ import annotations

from pydantic import Field

from realm_tui.config.loader import ExactModel, load_model
from realm_tui.paths import RealmPaths

SETTINGS_FILE = "settings.yaml"


class Settings(ExactModel):
    bell: bool = True
    """Ring the terminal bell at a moment."""
    moments: bool = True
    """Show moments: a banner in the TUI, a highlighted line headless."""
    moment_seconds: float = Field(default=3.0, gt=0, le=30)
    """Seconds a banner stays on screen unless a key skips it."""


def load_settings(realm: RealmPaths) -> Settings:
    """The realm's `configs/settings.yaml`, or the defaults when there is none."""
    path = realm.configs / SETTINGS_FILE
    if not path.exists():
        return Settings()
    return load_model(path, Settings)
