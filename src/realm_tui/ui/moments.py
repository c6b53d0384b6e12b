"""Moments on screen: a banner over the game for a few seconds (any key or a click skips it) and
the terminal bell, for a level-up, a mastered skill level, a new champion and a maxed-out verdict.

The banner floats over the screen without taking the focus, so a key that skips it still does
what it does (`x` during a level-up banner still stops the battle). The app calls
`MomentShow.show(moment)` for each notification that is a moment (`rules.moments`) and
`MomentShow.skip()` on every key; moments arriving while a banner is up join it.
`configs/settings.yaml` turns the banner or the bell off (`config.settings`).
"""

from __future__ import annotations

from typing import Any

from textual import events
from textual.app import App
from textual.timer import Timer
from textual.widgets import Static

from realm_tui.config.settings import Settings
from realm_tui.rules.moments import Moment
from realm_tui.ui.literal import escape


class MomentBanner(Static):
    """The banner: each moment's headline, framed, with its sentence under it."""

    DEFAULT_CSS = """
    MomentBanner {
        overlay: screen; position: absolute; offset: 12% 4; width: 80%; height: auto; padding: 1 2;
        border: heavy $warning; background: $panel; text-align: center;
    }
    """

    def __init__(self, moment: Moment, seconds: float) -> None:
        self.moments = [moment]
        self.seconds = seconds
        self._timer: Timer | None = None
        super().__init__(self._text(), id="moment-banner", markup=True)

    def _text(self) -> str:
        parts = [f"[b $warning]★ {escape(m.headline)} ★[/]\n[dim]{escape(m.detail)}[/]" for m in self.moments]
        return "\n".join(parts) + "\n[dim]any key skips[/]"

    def on_mount(self) -> None:
        self._restart()

    def _restart(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(self.seconds, self.skip)

    def add(self, moment: Moment) -> None:
        """Another moment while this banner is up: it joins the banner, which stays a while longer."""
        self.moments.append(moment)
        self.update(self._text())
        self._restart()

    def skip(self) -> None:
        if self.is_attached:
            self.remove()

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.skip()


class MomentShow:
    """Shows moments on one app, as the settings allow."""

    def __init__(self, app: App[Any], settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.shown: list[Moment] = []
        """Every moment shown this session, in order."""
        self._banner: MomentBanner | None = None

    @property
    def banner(self) -> MomentBanner | None:
        """The banner on screen now, if any."""
        banner = self._banner
        return banner if banner is not None and banner.is_attached else None

    def show(self, moment: Moment) -> None:
        if self.settings.bell:
            self.app.bell()
        if not self.settings.moments:
            return
        self.shown.append(moment)
        banner = self.banner
        if banner is not None:
            banner.add(moment)
            return
        self._banner = MomentBanner(moment, self.settings.moment_seconds)
        self.app.screen.mount(self._banner)

    def skip(self) -> None:
        """Any key: the banner goes (the key itself is not swallowed)."""
        banner = self.banner
        if banner is not None:
            banner.skip()
