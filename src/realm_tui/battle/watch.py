"""The battle's watchers: TensorBoard event files (and a W&B run when asked), and telemetry lines in
the headless JSON stream.

`open_watch` builds them for one battle; `on_event` fans each event the parent receives to them
and `close` ends them. A watcher that fails says so once (one line) and is dropped: watching never
stops a battle. `WatchSink` is the session's sink that holds them: both faces add it to their
`BattleSession`, so the TUI and `realm train --no-ui` write the same event files.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TextIO

from realm_tui.battle.conductor import Conductor
from realm_tui.battle.telemetry import TelemetryJsonSink
from realm_tui.battle.tensorboard_sink import TensorBoardSink, run_dir
from realm_tui.contract.protocol import Event
from realm_tui.errors import InputError

if TYPE_CHECKING:
    from realm_tui.battle.session import SessionEvent


class Sink(Protocol):
    def on_event(self, event: Event) -> None: ...
    def close(self) -> None: ...


class BattleWatch:
    def __init__(self, sinks: list[Sink], say: Callable[[str], None]) -> None:
        self.sinks = sinks
        self._say = say

    def on_event(self, event: Event) -> None:
        for sink in list(self.sinks):
            try:
                sink.on_event(event)
            except Exception as err:
                self.sinks.remove(sink)
                self._say(f"{type(sink).__name__} stopped: {err}; the battle goes on")

    def close(self) -> None:
        for sink in self.sinks:
            try:
                sink.close()
            except Exception as err:
                self._say(f"{type(sink).__name__} did not close cleanly: {err}")
        self.sinks = []


REPORTS = ("tensorboard", "wandb")
"""Where `realm train --report-to` may send the battle's metrics (TensorBoard by default)."""
DEFAULT_REPORTS: tuple[str, ...] = ("tensorboard",)


def parse_report_to(text: str) -> tuple[str, ...]:
    """`tensorboard`, `wandb` or both (`tensorboard,wandb`); an unknown name is an InputError."""
    names = tuple(dict.fromkeys(n.strip().lower() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in REPORTS]
    if unknown or not names:
        raise InputError(None, f"--report-to {text!r}: choose from {', '.join(REPORTS)} (comma-separated)")
    return names


def open_watch(
    conductor: Conductor,
    *,
    say: Callable[[str], None],
    json_out: TextIO | None = None,
    reports: tuple[str, ...] = DEFAULT_REPORTS,
) -> BattleWatch:
    """TensorBoard into `saves/runs/<campaign>/` (with the conductor's strain), a W&B run when
    `reports` names wandb; telemetry lines into `json_out` when given (the headless JSON stream)."""
    logdir = run_dir(conductor.realm, conductor.campaign_id)
    strain = lambda: conductor.state.strain.strain  # noqa: E731
    sinks: list[Sink] = []
    if "tensorboard" in reports:
        sinks.append(TensorBoardSink(logdir, say=say, strain=strain))
    if "wandb" in reports:
        from realm_tui.battle.wandb_sink import WandbSink  # wandb itself is imported only when it opens

        config = {"hero": conductor.hero.id, "campaign": conductor.campaign_id, "quest": conductor.quest_id}
        sinks.append(
            WandbSink(
                conductor.realm.saves,
                conductor.campaign_id,
                say=say,
                strain=strain,
                config=config,
                tensorboard="tensorboard" in reports,
            )
        )
    if json_out is not None:
        sinks.append(TelemetryJsonSink(json_out))
    return BattleWatch(sinks, say)


class WatchSink:
    """The watchers as one `BattleSession` sink: opened when the battle is entered (they need its
    campaign and its strain), fed every event the conductor applied, closed with the session."""

    def __init__(
        self, say: Callable[[str], None], json_out: TextIO | None = None, reports: tuple[str, ...] = DEFAULT_REPORTS
    ) -> None:
        self._say, self._json_out, self._reports = say, json_out, reports
        self.watch: BattleWatch | None = None

    def on_event(self, event: SessionEvent) -> None:
        from realm_tui.battle.session import Applied, Entered

        if isinstance(event, Entered):
            self.close()  # one battle per session; a second Entered would start afresh
            self.watch = open_watch(event.conductor, say=self._say, json_out=self._json_out, reports=self._reports)
        elif isinstance(event, Applied) and self.watch is not None:
            self.watch.on_event(event.event)

    def close(self) -> None:
        if self.watch is not None:
            self.watch.close()
            self.watch = None
