"""The Oracle: chat with the base hero or any checkpoint, tokens streaming in.

Generation runs in the oracle child process (`trainer/entry/oracle.py`), read by a thread worker
that posts `OracleReady` / `OracleReply` messages here; the battle is never blocked.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass

from textual import on, work
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Input, Label, Select, Static
from textual.worker import get_current_worker

from realm_tui.config.hero import HeroConfig
from realm_tui.config.realm_config import DEFAULT_HERO
from realm_tui.confine import checkpoint_folder
from realm_tui.contract.oracle import OracleAsk, OracleChunk, OracleLoad, OracleLoaded
from realm_tui.errors import InputError
from realm_tui.services.oracle import OracleDied
from realm_tui.ui.keys import ORACLE_BINDINGS
from realm_tui.ui.literal import escape
from realm_tui.ui.messages import CheckpointAdded, OraclePrompt, OracleReady, OracleReply
from realm_tui.ui.screens.base import RealmScreen

BASE = "__base__"
LOAD_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class Target:
    label: str
    hero: HeroConfig
    checkpoint: str | None


def template_preview(hero: HeroConfig) -> str:
    """The shape of a prompt in the hero's chat format, before the first question (after it, the
    panel shows the prompt the hero was given, rendered by its own chat template)."""
    chat = hero.chat
    system = f"{chat.im_start}system\n{chat.default_system}{chat.im_end}\n" if chat.default_system else ""
    return (
        f"{system}{chat.im_start}user\n{{your words}}{chat.im_end}\n{chat.im_start}assistant\n{{the hero}}{chat.im_end}"
    )


class ChatBubble(Static):
    DEFAULT_CSS = """
    ChatBubble { margin: 0 0 1 0; padding: 0 1; }
    ChatBubble.-user { background: $boost; }
    ChatBubble.-hero { color: $text; border-left: thick $accent; }
    ChatBubble.-error { color: $error; }
    """


class OracleScreen(RealmScreen):
    MODE = "oracle"
    BINDINGS = ORACLE_BINDINGS
    # Arrive on the conversation, not the hero picker (letters would open it) nor the prompt
    # (number keys would be typed instead of switching screens): Enter moves to the prompt.
    AUTO_FOCUS = "#chat"

    def compose_body(self) -> ComposeResult:
        with Vertical(id="oracle"):
            with Horizontal(id="oracle-top"):
                yield Label("ask", id="oracle-ask-label")
                yield Select([], prompt="the base hero", allow_blank=True, compact=True, id="oracle-target")
                yield Label("", id="oracle-status")
            with Horizontal(id="oracle-middle"):
                yield VerticalScroll(id="chat", classes="panel")
                yield VerticalScroll(Static("", id="template"), id="template-box", classes="panel")
            yield Input(placeholder="Ask the oracle… (Enter sends)", id="prompt")

    def on_mount(self) -> None:
        self.query_one("#chat").border_title = "Conversation"
        self.query_one("#template-box").border_title = "Prompt"
        self._history: list[tuple[str, str]] = []
        self._ids = itertools.count(1)
        self._request: str | None = None
        self._bubble: ChatBubble | None = None
        self._cancel = threading.Event()
        self._prompt_shown = False
        self._default: tuple[str, str] | None = None
        """(checkpoint name, `champion` or `latest`) the screen chose by itself, until the player picks."""
        self._player_chose = False

    def refresh_view(self) -> None:
        select = self.query_one("#oracle-target", Select)
        options = self.game.records.checkpoint_choices()  # the current campaign's first, newest first
        current = select.value
        with self.prevent(Select.Changed):  # only the player's own picks reach `_target_changed`
            select.set_options(options)
            if current in {v for _, v in options}:
                select.value = current
            elif not self._player_chose:  # the champion, else the latest checkpoint, not the base hero
                found = self.game.records.default_checkpoint()
                if found is not None and found[0].name in {v for _, v in options}:
                    self._default = (found[0].name, found[1])
                    select.value = found[0].name
        target = self._target()
        if not self._prompt_shown:
            self.query_one("#template", Static).update(escape(template_preview(target.hero)))
        self._status(self._target_note(target))

    def _target_note(self, target: Target) -> str:
        """The status line's name of the hero answering, and why when the screen chose it."""
        if self._default is not None and not self._player_chose and target.label == self._default[0]:
            why = "the campaign's champion" if self._default[1] == "champion" else "the latest checkpoint (no champion)"
            return f"[dim]{escape(target.label)} · {why}[/]"
        return f"[dim]{escape(target.label)}[/]"

    def _target(self) -> Target:
        game = self.game
        value = self.query_one("#oracle-target", Select).value
        campaign = game.records.current_campaign()
        hero_id = campaign.hero_id if campaign else DEFAULT_HERO
        if isinstance(value, str) and value != BASE:
            record = game.records.checkpoint(value)
            if record is not None:
                hero = game.configs.heroes.get(record.hero_id) or game.configs.hero(hero_id)
                try:  # confined to saves/checkpoints/; the worker verifies the folder before loading
                    return Target(record.name, hero, str(checkpoint_folder(game.realm, record.path)))
                except InputError as err:
                    self.notify(str(err), severity="error")
        hero = game.configs.heroes.get(hero_id) or next(iter(game.configs.heroes.values()))
        return Target(f"base {hero.id}", hero, None)

    def _status(self, text: str) -> None:
        self.query_one("#oracle-status", Label).update(text)

    # ------------------------------------------------------------ chat

    @on(Input.Submitted, "#prompt")
    def _send(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            return
        if self._request is not None:
            self.notify_refusal("the oracle is still answering (Ctrl+K hushes it)")
            return
        event.input.value = ""
        target = self._target()
        chat = self.query_one("#chat", VerticalScroll)
        chat.mount(ChatBubble(f"[b]you[/] {escape(text)}", classes="-user"))
        self._bubble = ChatBubble(f"[b]{escape(target.hero.name)}[/] [dim]…[/]", classes="-hero")
        chat.mount(self._bubble)
        chat.scroll_end(animate=False)
        self._history.append(("user", text))
        if target.hero.chat.default_system and not any(r == "system" for r, _ in self._history):
            self._history.insert(0, ("system", target.hero.chat.default_system))
        request_id = f"ask-{next(self._ids)}"
        self._request = request_id
        self._cancel.clear()
        load = OracleLoad(
            hero=target.hero.model_dump(mode="json"),
            realm_root=str(self.game.realm.root),
            checkpoint=target.checkpoint,
            label=target.label,
            threads=1 if self.game.trainer_state.busy else 2,
        )
        self._status(f"[dim]asking {escape(target.label)}…[/]")
        self._converse(load, OracleAsk(request_id, tuple(self._history)))

    @work(thread=True, exclusive=True, group="oracle", exit_on_error=False, name="oracle", description="oracle answer")
    def _converse(self, load: OracleLoad, ask: OracleAsk) -> None:
        client = self.game.oracle
        try:
            if client.load(load):
                self._wait_loaded(load)
            client.ask(ask)
            text = ""
            worker = get_current_worker()
            while True:
                if worker.is_cancelled:
                    client.cancel()
                    return
                if self._cancel.is_set():
                    self._cancel.clear()
                    client.cancel()
                for event in client.events(timeout=0.1):
                    if isinstance(event, OracleChunk) and event.request_id == ask.request_id and event.prompt:
                        self.post_message(OraclePrompt(ask.request_id, event.prompt))
                    elif isinstance(event, OracleChunk) and event.request_id == ask.request_id:
                        text += event.text
                        self.post_message(OracleReply(ask.request_id, text, event.done, event.error))
                        if event.done:
                            return
        except OracleDied as err:
            self.post_message(OracleReply(ask.request_id, "", True, str(err)))

    def _wait_loaded(self, load: OracleLoad) -> None:
        import time

        client = self.game.oracle
        deadline = time.monotonic() + LOAD_TIMEOUT_S
        while time.monotonic() < deadline:
            for event in client.events(timeout=0.2):
                if isinstance(event, OracleLoaded):
                    self.post_message(OracleReady(event.label, event.chat_template, event.parameters, event.error))
                    if event.error:
                        raise OracleDied(f"could not load {load.label}: {event.error}")
                    return
        raise OracleDied(f"loading {load.label} took more than {LOAD_TIMEOUT_S:.0f}s")

    def on_oracle_ready(self, message: OracleReady) -> None:
        if message.error:
            self._status(f"[$error]{escape(message.label)} failed to load[/]")
            return
        self._status(f"[$success]{escape(message.label)}[/] [dim]{message.parameters:,} parameters[/]")

    def on_oracle_prompt(self, message: OraclePrompt) -> None:
        """The prompt the hero was given (not its raw Jinja chat template): what it really reads."""
        if message.request_id == self._request:
            self._prompt_shown = True
            self.query_one("#template", Static).update(escape(message.text))

    def on_oracle_reply(self, message: OracleReply) -> None:
        if message.request_id != self._request or self._bubble is None:
            return
        name = escape(self._target().hero.name)
        if message.error:
            self._bubble.update(f"[b]{name}[/] [$error]{escape(message.error)}[/]")
            self._bubble.add_class("-error")
        else:
            cursor = "" if message.done else " ▌"
            self._bubble.update(f"[b]{name}[/] {escape(message.text) or '[dim](silence)[/]'}{cursor}")
        self.query_one("#chat", VerticalScroll).scroll_end(animate=False)
        if message.done:
            if not message.error:
                self._history.append(("assistant", message.text))
            self._request = None
            self._bubble = None
            self._status(f"[dim]{escape(self._target().label)} · done[/]")

    # ------------------------------------------------------------ actions

    def action_clear_chat(self) -> None:
        self._cancel.set()
        self._history.clear()
        self.query_one("#chat", VerticalScroll).remove_children()
        self._request, self._bubble = None, None

    def action_cancel_answer(self) -> None:
        if self._request is None:
            raise SkipAction()  # nothing to hush: Ctrl+K goes on to the prompt (delete to the end)
        self._cancel.set()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "focus_prompt":  # offered only away from the prompt (there Enter sends)
            return self.focused is None or self.focused.id != "prompt"
        return True

    def action_focus_prompt(self) -> None:
        self.query_one("#prompt", Input).focus()

    def action_toggle_template(self) -> None:
        box = self.query_one("#template-box")
        box.display = not box.display

    def action_leave_input(self) -> None:
        self.query_one("#chat").focus()

    @on(Select.Changed, "#oracle-target")
    def _target_changed(self) -> None:
        self._player_chose = True  # the screen's own changes are prevented (refresh_view)
        target = self._target()
        self._prompt_shown = False
        self.query_one("#template", Static).update(escape(template_preview(target.hero)))
        self._status(self._target_note(target))

    def on_checkpoint_added(self, message: CheckpointAdded) -> None:
        self.refresh_view()
