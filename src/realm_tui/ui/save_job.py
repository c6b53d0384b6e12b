"""The checkpoint being saved, as the Jobs panel shows it (a live battle's and a followed one's)."""

from __future__ import annotations

from realm_tui.contract.protocol import CheckpointProgress, CheckpointSaved, Error, Event, Step, Stopped


class SaveJob:
    """A save in flight is a job from its first `CheckpointProgress` until its `CheckpointSaved`,
    or an `Error` (it failed), a `Step` or the end."""

    def __init__(self) -> None:
        self.running: CheckpointProgress | None = None
        """The save's latest progress (val pass, writes), None when no save runs."""
        self.started_at: float | None = None
        """When that save began (its first CheckpointProgress): the Jobs row shows its time running."""

    def on_event(self, event: Event) -> None:
        if isinstance(event, CheckpointProgress):
            if self.running is None or self.running.step != event.step:
                self.started_at = event.at
            self.running = event
        elif isinstance(event, CheckpointSaved | Error | Step | Stopped):
            self.running = None
