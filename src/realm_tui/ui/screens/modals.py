"""Dialogs: confirm (`ModalScreen[bool]`), leave-during-battle and adapter export (`ModalScreen[str]`),
pick one entry of a list (`ModalScreen[str | None]`), help."""

from __future__ import annotations

from collections.abc import Sequence

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Label, OptionList, Static
from textual.widgets.button import ButtonVariant
from textual.widgets.option_list import Option

from realm_tui.ui.keys import (
    EXPORT_BINDINGS,
    GROUPS,
    HELP_BINDINGS,
    MODAL_BINDINGS,
    PICK_BINDINGS,
    QUIT_BINDINGS,
    SCREENS,
    bindings_of,
    key_label,
)
from realm_tui.ui.literal import escape


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


class ChoiceModal(ModalScreen[str]):
    """A text and one button per choice; a key (`choose`) or a button dismisses with the choice's id."""

    def __init__(self, text: str, buttons: Sequence[tuple[str, ButtonVariant, str]]) -> None:
        """`buttons`: (label, variant, id) each; the id is what the dialog dismisses with."""
        super().__init__()
        self.text = text
        self.buttons = tuple(buttons)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Static(self.text, id="question")
            with Horizontal(classes="buttons"):
                for label, variant, choice in self.buttons:
                    yield Button(label, variant=variant, id=choice)

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id or "cancel")


class QuitModal(ChoiceModal):
    """Leaving while a battle runs: `stop`, `headless` or `cancel`."""

    BINDINGS = QUIT_BINDINGS

    def __init__(self, quest: str, step: int) -> None:
        super().__init__(
            f"[b]A battle is running[/] (quest {escape(quest)}, step {step}).\n\n"
            "[b]s[/]    stop it: save a checkpoint, then leave\n"
            "[b]h[/]    keep training headless: save a checkpoint, then `realm train --no-ui`\n"
            "     continues the campaign in the background (log: saves/headless.log)\n"
            "[b]esc[/]  stay in the realm",
            [
                ("Stop & save (s)", "primary", "stop"),
                ("Keep training (h)", "warning", "headless"),
                ("Cancel (esc)", "default", "cancel"),
            ],
        )
        self.quest = quest
        self.step = step


class ExportModal(ChoiceModal):
    """Exporting an adapter checkpoint: `merged` (into its base), `adapter` (as is) or `cancel`."""

    BINDINGS = EXPORT_BINDINGS

    def __init__(self, checkpoint: str, target: str) -> None:
        super().__init__(
            f"[b]Export {escape(checkpoint)}[/] to {escape(target)}\n"
            "It holds LoRA adapter weights, not the whole model.\n\n"
            "[b]m[/]    merged: the base with the adapter folded in, a plain model folder\n"
            "     (loads with transformers alone; runs in a background process)\n"
            "[b]a[/]    adapter as is: load it with peft on top of its base\n"
            "[b]esc[/]  export nothing",
            [
                ("Merged (m)", "primary", "merged"),
                ("Adapter (a)", "default", "adapter"),
                ("Cancel (esc)", "default", "cancel"),
            ],
        )
        self.checkpoint = checkpoint
        self.target = target


class PickModal(ModalScreen[str | None]):
    """Pick one entry of a list: dismisses with its id (Enter) or None (Esc)."""

    BINDINGS = PICK_BINDINGS

    def __init__(self, title: str, choices: Sequence[tuple[str, str]], note: str = "", current: str = "") -> None:
        """`choices`: (id, label) pairs; `current`: the id highlighted first."""
        super().__init__()
        self.title_text = title
        self.choices = list(choices)
        self.note = note
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog pick"):
            yield Static(f"[b]{escape(self.title_text)}[/]", classes="pick-title")
            yield OptionList(*(Option(escape(label), id=cid) for cid, label in self.choices), id="pick-list")
            hint = f"{self.note}\n" if self.note else ""
            yield Static(escape(f"{hint}Enter picks · Esc cancels"), classes="pick-note")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        ids = [cid for cid, _label in self.choices]
        options.highlighted = ids.index(self.current) if self.current in ids else 0
        options.focus()

    def action_pick(self) -> None:
        options = self.query_one(OptionList)
        index = options.highlighted
        self.dismiss(self.choices[index][0] if index is not None and self.choices else None)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)


class HelpModal(ModalScreen[None]):
    """Every key binding of the game, by where it works."""

    BINDINGS = HELP_BINDINGS

    def compose(self) -> ComposeResult:
        with Vertical(id="help", classes="dialog"):
            yield Label("[b]Keys[/]  (Esc or ? closes)")
            yield DataTable(id="help-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self._filled_width = 0
        self.query_one(DataTable).focus()
        self.call_after_refresh(self._fill)  # the dialog's real width is known once it is laid out

    def on_resize(self) -> None:
        self.call_after_refresh(self._fill)

    def _fill(self) -> None:
        """Columns from the table's real width: the description wraps in what the key and id columns
        leave; when that is too narrow to read, the id column goes."""
        table = self.query_one(DataTable)
        width = table.size.width - table.styles.scrollbar_size_vertical
        if width <= 0 or width == self._filled_width:
            return
        self._filled_width = width
        rows = help_rows()
        key_w = max(len(key) for key, _does, _id in rows)
        id_w = max(len(bid) for _key, _does, bid in rows)
        pad = 2 * table.cell_padding
        does = width - key_w - id_w - 3 * pad
        show_id = does >= HELP_MIN_DOES
        if not show_id:
            does = width - key_w - 2 * pad
        table.clear(columns=True)
        table.add_column("key", width=key_w)
        table.add_column("does", width=max(HELP_MIN_DOES // 2, does))
        if show_id:
            table.add_column("id", width=id_w)
        for key, text, bid in rows:
            table.add_row(*((key, text, bid) if show_id else (key, text)), height=None)  # long text wraps


HELP_MIN_DOES = 36
"""Narrower than this, the help dialog drops its id column so descriptions stay readable."""


def help_rows() -> list[tuple[str, str, str]]:
    """(key, what it does, binding id) for every binding, under a bold heading per group."""
    rows = [("", "[b]Screens (everywhere)[/]", "")]
    rows += [(f"{s.number} / {s.letter}", f"{s.title}: {s.tooltip}", f"screen.{s.mode}") for s in SCREENS]
    for group, bindings in GROUPS:
        rows.append(("", f"[b]{group}[/]", ""))
        for binding in bindings_of(bindings):
            if binding.id and binding.id.startswith("screen."):
                continue
            rows.append((key_label(binding), binding.tooltip or binding.description, binding.id or ""))
    return rows
