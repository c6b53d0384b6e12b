"""Form widgets: a path input with completion, and the Quest Board's add-a-file form."""

from __future__ import annotations

import os
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.suggester import Suggester
from textual.widgets import Input, Label, Select

from realm_tui.store import QUEST_PRIORITIES, QuestPriority


class PathSuggester(Suggester):
    """Completes file-system paths: the first entry (folders first, then `suffix` files) that
    starts with what was typed. → (right arrow) at the end of the input accepts it."""

    def __init__(self, suffix: str = ".jsonl", base: Path | None = None) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.suffix = suffix
        self.base = base

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        expanded = os.path.expanduser(value)
        folder, prefix = os.path.split(expanded)
        where = Path(folder or ".")
        if not where.is_absolute() and self.base is not None:
            where = self.base / where
        try:
            names = sorted(os.listdir(where))
        except OSError:
            return None
        dirs = [n for n in names if n.startswith(prefix) and not n.startswith(".") and (where / n).is_dir()]
        files = [n for n in names if n.startswith(prefix) and n.endswith(self.suffix) and (where / n).is_file()]
        for name in (*files, *dirs) if prefix else (*dirs, *files):
            if name == prefix:
                continue
            completed = name + ("/" if (where / name).is_dir() else "")
            return value + completed[len(prefix) :]
        return None


class AddQuestForm(Horizontal):
    """Path (with completion) and priority; Enter posts `AddQuestForm.Submitted`."""

    DEFAULT_CSS = """
    AddQuestForm { height: auto; padding: 0 1; }
    AddQuestForm > Label { padding: 0 1 0 0; }
    AddQuestForm > Input { width: 1fr; }
    AddQuestForm > Select { width: 16; }
    """

    class Submitted(Message):
        def __init__(self, path: Path, priority: QuestPriority) -> None:
            super().__init__()
            self.path = path
            self.priority = priority

    def __init__(self, base: Path | None = None, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.base = base

    def compose(self) -> ComposeResult:
        yield Label("file")
        yield Input(
            placeholder="path/to/quest.jsonl  (→ completes)",
            suggester=PathSuggester(base=self.base),
            compact=True,
            id="quest-path",
        )
        yield Select(
            [(p, p) for p in QUEST_PRIORITIES], value="normal", allow_blank=False, compact=True, id="quest-priority"
        )

    def focus_path(self) -> None:
        self.query_one("#quest-path", Input).focus()

    @on(Input.Submitted, "#quest-path")
    def _submit(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if not text:
            return
        path = Path(os.path.expanduser(text))
        if not path.is_absolute() and self.base is not None:
            path = self.base / path
        priority = self.query_one("#quest-priority", Select).value
        chosen: QuestPriority = priority if priority in QUEST_PRIORITIES else "normal"
        self.post_message(self.Submitted(path, chosen))

    def clear(self) -> None:
        self.query_one("#quest-path", Input).value = ""
