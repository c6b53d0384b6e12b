"""Typed Textual messages: what happened, posted by workers (battle, oracle, inbox) to the App.

The App updates its caches, shows toasts and the status bar, then forwards a copy to the active
screen with `forward()`. None of them bubble: a forwarded copy must not come back to the App.
`StepUpdate` and `OracleReply` override `can_replace`, so a burst collapses to the latest value
(toolong's pattern) and a busy UI never falls behind the trainer.
"""

from __future__ import annotations

from typing import Self

from textual.message import Message

from realm_tui.rules.notifications import Notification
from realm_tui.ui.models import BattleSnapshot, LogLine, TrainerState


class RealmMessage(Message, bubble=False):
    # Textual sets `bubble = True` on every subclass unless told otherwise: each one says False.
    """Base: a message the App receives from a worker and may forward to the active screen."""

    def forward(self) -> Self:
        """A fresh copy to post to another node (a Message is dispatched once)."""
        raise NotImplementedError


class StepUpdate(RealmMessage, bubble=False):
    """The battle advanced: the latest snapshot (history included, so dropped updates lose nothing)."""

    def __init__(self, snapshot: BattleSnapshot) -> None:
        super().__init__()
        self.snapshot = snapshot

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, StepUpdate)

    def forward(self) -> StepUpdate:
        return StepUpdate(self.snapshot)


class CheckpointAdded(RealmMessage, bubble=False):
    """A checkpoint was committed to the ledger."""

    def __init__(self, name: str, step: int) -> None:
        super().__init__()
        self.name = name
        self.step = step

    def forward(self) -> CheckpointAdded:
        return CheckpointAdded(self.name, self.step)


class NotificationRaised(RealmMessage, bubble=False):
    """A game notification (level up, new champion, quest complete, trainer died …)."""

    def __init__(self, notification: Notification) -> None:
        super().__init__()
        self.notification = notification

    def forward(self) -> NotificationRaised:
        return NotificationRaised(self.notification)


class TrainerStateChanged(RealmMessage, bubble=False):
    """The trainer child changed state (idle / starting / training / paused / stopping / dead)."""

    def __init__(self, state: TrainerState, detail: str = "") -> None:
        super().__init__()
        self.state = state
        self.detail = detail

    def forward(self) -> TrainerStateChanged:
        return TrainerStateChanged(self.state, self.detail)


class BattleLogged(RealmMessage, bubble=False):
    """A line for the battle log (events, evals, checkpoints, level-ups, errors)."""

    def __init__(self, line: LogLine) -> None:
        super().__init__()
        self.line = line

    def forward(self) -> BattleLogged:
        return BattleLogged(self.line)


class QuestFinished(RealmMessage, bubble=False):
    """The trainer finished a quest; the board moves its file to done/."""

    def __init__(self, quest_id: str) -> None:
        super().__init__()
        self.quest_id = quest_id

    def forward(self) -> QuestFinished:
        return QuestFinished(self.quest_id)


class QuestBoardChanged(RealmMessage, bubble=False):
    """Quest files or records changed (inbox picked up, quest started or finished)."""

    def __init__(self, summary: str = "") -> None:
        super().__init__()
        self.summary = summary

    def forward(self) -> QuestBoardChanged:
        return QuestBoardChanged(self.summary)


class OraclePrompt(RealmMessage, bubble=False):
    """The prompt the oracle's hero was given for a question, rendered by its chat template."""

    def __init__(self, request_id: str, text: str) -> None:
        super().__init__()
        self.request_id = request_id
        self.text = text

    def forward(self) -> OraclePrompt:
        return OraclePrompt(self.request_id, self.text)


class OracleReply(RealmMessage, bubble=False):
    """The oracle's answer so far (cumulative text); `done` closes it."""

    def __init__(self, request_id: str, text: str, done: bool = False, error: str = "") -> None:
        super().__init__()
        self.request_id = request_id
        self.text = text
        self.done = done
        self.error = error

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, OracleReply) and message.request_id == self.request_id and not self.done

    def forward(self) -> OracleReply:
        return OracleReply(self.request_id, self.text, self.done, self.error)


class OracleReady(RealmMessage, bubble=False):
    """The oracle child loaded a hero or checkpoint."""

    def __init__(self, label: str, chat_template: str, parameters: int, error: str = "") -> None:
        super().__init__()
        self.label = label
        self.chat_template = chat_template
        self.parameters = parameters
        self.error = error

    def forward(self) -> OracleReady:
        return OracleReady(self.label, self.chat_template, self.parameters, self.error)


class TaskFinished(RealmMessage, bubble=False):
    """A background task (export, disk usage, inbox scan …) ended; `error` is empty on success."""

    def __init__(self, task: str, result: str, error: str = "") -> None:
        super().__init__()
        self.task = task
        self.result = result
        self.error = error

    def forward(self) -> TaskFinished:
        return TaskFinished(self.task, self.result, self.error)


class TaskProgress(RealmMessage, bubble=False):
    """A background task (export …) reached a stage worth telling the player."""

    def __init__(self, task: str, text: str) -> None:
        super().__init__()
        self.task = task
        self.text = text

    def forward(self) -> TaskProgress:
        return TaskProgress(self.task, self.text)


class RequestsApplied(RealmMessage, bubble=False):
    """The idle game (the store's writer, no battle running) applied write requests another
    terminal left (`realm quest add` …): one log line each; the shown screen re-reads the store."""

    def __init__(self, lines: list[LogLine]) -> None:
        super().__init__()
        self.lines = lines

    def forward(self) -> RequestsApplied:
        return RequestsApplied(list(self.lines))
