"""The Quest Board: the queue by priority, add a file, change priority, cancel, retry, why it failed.

Every action goes through `game.board` (`ui.services.quest_board.QuestBoard`), the adapter that
will point at the `realm_tui.quests` board API once it lands.
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from realm_tui.services.quest_board import BoardRefusal, QuestEntry
from realm_tui.ui.keys import QUEST_BINDINGS
from realm_tui.ui.literal import escape
from realm_tui.ui.lore_text import LoreStatic, attach_lore
from realm_tui.ui.messages import QuestBoardChanged, TaskFinished
from realm_tui.ui.models import format_bytes
from realm_tui.ui.screens.base import RealmScreen
from realm_tui.ui.widgets.forms import AddQuestForm

STATE_MARKS = {
    "processing": "⚔ fighting",
    "queued": "queued",
    "inbox": "inbox",
    "failed": "✖ failed",
    "cancelled": "cancelled",
    "done": "✓ done",
}


class QuestBoardScreen(RealmScreen):
    MODE = "quests"
    BINDINGS = QUEST_BINDINGS

    def compose_body(self) -> ComposeResult:
        with Vertical(id="quests"):
            yield LoreStatic("", id="quest-counts", classes="panel")
            yield attach_lore(
                DataTable(id="quest-table", cursor_type="row", zebra_stripes=True, classes="panel"),
                "quest",
                "quest.priority",
                "quest.queued",
                "quest.processing",
                "quest.done",
                "quest.failed",
            )
            yield LoreStatic("", id="quest-detail", classes="panel")
            yield AddQuestForm(id="add-form", classes="panel")

    def on_mount(self) -> None:
        table = self.query_one("#quest-table", DataTable)
        table.border_title = "Quests (queue order: high → normal → low, oldest first)"
        table.add_column("state", key="state", width=11)
        table.add_column("priority", key="priority", width=8)
        table.add_column("quest", key="quest")
        table.add_column("examples", key="examples", width=8)
        table.add_column("size", key="size", width=10)
        table.add_column("tries", key="tries", width=5)
        self.query_one("#quest-detail").border_title = "Details"
        form = self.query_one(AddQuestForm)
        form.border_title = "Add a quest file (Enter adds, Esc closes)"
        form.display = False
        self._entries: dict[str, QuestEntry] = {}

    def refresh_view(self) -> None:
        board = self.game.board
        summary = board.summary()
        counts, sizes = summary.counts, summary.sizes
        parts = [f"[b]{p}[/] {counts.get(p, 0)} ({format_bytes(sizes.get(p, 0))})" for p in ("high", "normal", "low")]
        parts += [f"{label} {counts.get(label, 0)}" for label in ("inbox", "failed", "done")]
        self.query_one("#quest-counts", Static).update("  ·  ".join(parts))
        table = self.query_one("#quest-table", DataTable)
        selected = self._selected_id()
        table.clear()
        self._entries = {}
        for entry in summary.entries:
            key = entry.id if entry.state != "inbox" else f"inbox/{entry.path.name}"
            if key in self._entries:
                continue  # a file waiting in the inbox under a name the board knows already
            self._entries[key] = entry
            table.add_row(
                STATE_MARKS.get(entry.state, entry.state),
                entry.priority if entry.state in ("queued", "processing") else "",
                entry.id,
                "—" if entry.examples is None else f"{entry.examples:,}",
                format_bytes(entry.size_bytes),
                str(entry.attempts),
                key=key,
            )
        if selected in self._entries:
            table.move_cursor(row=table.get_row_index(selected))
        self._show_detail()

    def _selected_id(self) -> str | None:
        table = self.query_one("#quest-table", DataTable)
        if not table.row_count:
            return None
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        except Exception:  # an empty or just-cleared table has no cursor cell
            return None
        return str(key.value) if key.value is not None else None

    def _show_detail(self) -> None:
        quest_id = self._selected_id()
        entry = self._entries.get(quest_id or "")
        detail = self.query_one("#quest-detail", Static)
        if entry is None:
            detail.update("[dim]No quest selected. n adds a file; files dropped into quests/inbox/ are picked up.[/]")
            return
        try:
            where = entry.path.relative_to(self.game.realm.root).as_posix()
        except ValueError:
            where = str(entry.path)
        lines = [f"[b]{escape(entry.id)}[/]  {entry.state}  [dim]{escape(where)}[/]"]
        if entry.reasons:
            lines.append("[b $error]why:[/] " + escape(" ".join(r.strip() for r in entry.reasons[:6])))
        elif entry.state in ("failed", "cancelled"):
            lines.append("[dim]no reason recorded[/]")
        if entry.rejected:  # every line left out, as `realm quest validate` prints it
            lines.append(f"[b]rejected lines ({len(entry.rejected)}):[/]")
            lines += [escape(text) for text in entry.rejected]
        detail.update("\n".join(lines))

    @on(DataTable.RowHighlighted, "#quest-table")
    def _highlighted(self) -> None:
        self._show_detail()

    # ------------------------------------------------------------ actions

    def _act(self, action: str) -> None:
        if not self.writable():
            return
        quest_id = self._selected_id()
        if quest_id is None:
            self.notify_refusal("select a quest first")
            return
        board = self.game.board
        try:
            if action == "raise":
                entry = board.shift_priority(quest_id, -1)
                self.notify(f"{quest_id} moved to {entry.priority} priority", markup=False)
            elif action == "lower":
                entry = board.shift_priority(quest_id, +1)
                self.notify(f"{quest_id} moved to {entry.priority} priority", markup=False)
            elif action == "cancel":
                board.cancel(quest_id)
                self.notify(f"{quest_id} cancelled (y retries it)", markup=False)
        except BoardRefusal as err:
            self.notify_refusal(str(err))
        self.refresh_view()

    def action_raise_priority(self) -> None:
        self._act("raise")

    def action_lower_priority(self) -> None:
        self._act("lower")

    def action_cancel_quest(self) -> None:
        self._act("cancel")

    def action_retry_quest(self) -> None:
        if not self.writable():
            return
        quest_id = self._selected_id()
        if quest_id is None:
            self.notify_refusal("select a failed quest first")
            return
        self._retry(quest_id)

    def action_add_quest(self) -> None:
        form = self.query_one(AddQuestForm)
        form.display = True
        form.focus_path()

    def action_close_form(self) -> None:
        form = self.query_one(AddQuestForm)
        form.display = False
        self.query_one("#quest-table", DataTable).focus()

    async def action_scan_inbox(self) -> None:
        await self.app.run_action("scan_inbox")

    @on(AddQuestForm.Submitted)
    def _add(self, message: AddQuestForm.Submitted) -> None:
        if not self.writable():
            return
        self._add_file(str(message.path), message.priority)

    @work(thread=True, group="quests", exit_on_error=False, name="add quest", description="validating a quest file")
    def _add_file(self, path: str, priority: str) -> None:
        from pathlib import Path

        try:
            entry = self.game.board.add(Path(path), priority)  # type: ignore[arg-type]
        except BoardRefusal as err:
            self.post_message(TaskFinished("add quest", "", str(err)))
            return
        self.post_message(TaskFinished("add quest", f"{entry.id} queued at {entry.priority} priority"))

    @work(thread=True, group="quests", exit_on_error=False, name="retry quest", description="validating again")
    def _retry(self, quest_id: str) -> None:
        try:
            entry = self.game.board.retry(quest_id)
        except BoardRefusal as err:
            self.post_message(TaskFinished("retry quest", "", str(err)))
            return
        self.post_message(TaskFinished("retry quest", f"{entry.id} is queued again"))

    def on_task_finished(self, message: TaskFinished) -> None:
        if message.error:
            self.notify_refusal(message.error)
        else:
            self.notify(message.result, title=message.task.capitalize(), markup=False)
            if message.task == "add quest":
                self.query_one(AddQuestForm).clear()
                self.action_close_form()
        self.refresh_view()

    def on_quest_board_changed(self, message: QuestBoardChanged) -> None:
        self.refresh_view()
