"""Dialogs: confirm (`ModalScreen[bool]`), leave-during-battle and adapter export (`ModalScreen[str]`), help."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.markup import escape
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Label, Static

from realm_tui.ui.keys import (
    EXPORT_BINDINGS,
    GROUPS,
    HELP_BINDINGS,
    MODAL_BINDINGS,
    QUIT_BINDINGS,
    SCREENS,
    bindings_of,
    key_label,
)


class ConfirmModal(ModalScreen[bool]):
    """A yes/no question; dismisses with True (y) or False (n, Esc)."""

    BINDINGS = MODAL_BINDINGS

    def __init__(self, question: str, yes: str = "Yes", danger: bool = True) -> None:
        super().__init__()
        self.question = question
        self.yes = yes
        self.danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Static(escape(self.question), id="question")
            with Horizontal(classes="buttons"):
                yield Button(f"{self.yes} (y)", variant="error" if self.danger else "primary", id="yes")
                yield Button("No (n)", id="no")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class QuitModal(ModalScreen[str]):
    """Leaving while a battle runs: `stop`, `headless` or `cancel`."""

    BINDINGS = QUIT_BINDINGS

    def __init__(self, quest: str, step: int) -> None:
        super().__init__()
        self.quest = quest
        self.step = step

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Static(
                f"[b]A battle is running[/] (quest {escape(self.quest)}, step {self.step}).\n\n"
                "[b]s[/]    stop it: save a checkpoint, then leave\n"
                "[b]h[/]    keep training headless: save a checkpoint, then `realm train --no-ui`\n"
                "     continues the campaign in the background (log: saves/headless.log)\n"
                "[b]esc[/]  stay in the realm",
                id="question",
            )
            with Horizontal(classes="buttons"):
                yield Button("Stop & save (s)", variant="primary", id="stop")
                yield Button("Keep training (h)", variant="warning", id="headless")
                yield Button("Cancel (esc)", id="cancel")

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id or "cancel")


class ExportModal(ModalScreen[str]):
    """Exporting an adapter checkpoint: `merged` (into its base), `adapter` (as is) or `cancel`."""

    BINDINGS = EXPORT_BINDINGS

    def __init__(self, checkpoint: str, target: str) -> None:
        super().__init__()
        self.checkpoint = checkpoint
        self.target = target

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Static(
                f"[b]Export {escape(self.checkpoint)}[/] to {escape(self.target)}\n"
                "It holds LoRA adapter weights, not the whole model.\n\n"
                "[b]m[/]    merged: the base with the adapter folded in, a plain model folder\n"
                "     (loads with transformers alone; runs in a background process)\n"
                "[b]a[/]    adapter as is: load it with peft on top of its base\n"
                "[b]esc[/]  export nothing",
                id="question",
            )
            with Horizontal(classes="buttons"):
                yield Button("Merged (m)", variant="primary", id="merged")
                yield Button("Adapter (a)", id="adapter")
                yield Button("Cancel (esc)", id="cancel")

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id or "cancel")


class HelpModal(ModalScreen[None]):
    """Every key binding of the game, by where it works."""

    BINDINGS = HELP_BINDINGS

    def compose(self) -> ComposeResult:
        with Vertical(id="help", classes="dialog"):
            yield Label("[b]Keys[/]  (Esc or ? closes)")
            yield DataTable(id="help-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        # The description gets what the key and id columns leave of the dialog (cells do not wrap).
        does = max(24, int(self.app.size.width * 0.96) - 8 - 12 - 20 - 6)
        table.add_column("key", width=12)
        table.add_column("does", width=does)
        table.add_column("id", width=20)
        table.add_row("", "[b]Screens (everywhere)[/]", "")
        for s in SCREENS:
            table.add_row(f"{s.number} / {s.letter}", f"{s.title}: {s.tooltip}", f"screen.{s.mode}")
        for group, bindings in GROUPS:
            table.add_row("", f"[b]{group}[/]", "")
            for binding in bindings_of(bindings):
                if binding.id and binding.id.startswith("screen."):
                    continue
                table.add_row(key_label(binding), binding.tooltip or binding.description, binding.id or "")
        table.focus()
