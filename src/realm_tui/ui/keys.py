"""Every key binding of the game, in one place: ids (for keymaps), descriptions and tooltips.

The App, the screens, the `?` help screen and `docs/tui.md` all read these lists.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding, BindingType


@dataclass(frozen=True)
class ScreenInfo:
    mode: str
    title: str
    number: str
    letter: str
    tooltip: str

    @property
    def short(self) -> str:
        """The name in the navigation bar."""
        return "Quests" if self.mode == "quests" else self.title


SCREENS: tuple[ScreenInfo, ...] = (
    ScreenInfo("tavern", "Tavern", "1", "t", "Home: the hero sheet and the live battle"),
    ScreenInfo("battle", "Battle", "2", "b", "Loss and strain plots, readouts, the battle log and jobs in flight"),
    ScreenInfo("quests", "Quest Board", "3", "q", "The quest queue: add, prioritise, cancel, retry"),
    ScreenInfo("vault", "Vault", "4", "v", "Checkpoints: champion, delete, export, New Game+, disk usage"),
    ScreenInfo("guild", "Guild", "5", "g", "Skills, evals, primitives, titles, achievements, the campaign"),
    ScreenInfo("oracle", "Oracle", "6", "o", "Chat with the hero or any checkpoint"),
    ScreenInfo("armory", "Armory", "7", "a", "Hero, memory profile, optimizer and batch settings"),
)


def _screen_bindings() -> list[Binding]:
    return [
        Binding(
            f"{s.number},{s.letter}",
            f"app.goto('{s.mode}')",
            s.title,
            show=False,
            key_display=f"{s.number}/{s.letter}",
            id=f"screen.{s.mode}",
            tooltip=s.tooltip,
        )
        for s in SCREENS
    ]


APP_BINDINGS: list[BindingType] = [
    *_screen_bindings(),
    Binding("s", "start_battle", "Start", id="battle.start", tooltip="Start a battle on the next queued quest"),
    Binding("p", "pause_battle", "Pause", id="battle.pause", tooltip="Pause training at the next step boundary"),
    Binding("r", "resume_battle", "Resume", id="battle.resume", tooltip="Resume a paused battle"),
    Binding("x", "stop_battle", "Stop", id="battle.stop", tooltip="Save a checkpoint, then stop the battle"),
    Binding("question_mark", "help", "Keys", key_display="?", id="app.help", tooltip="Show every key binding"),
    Binding(
        "ctrl+q",
        "quit",
        "Quit",
        priority=True,
        id="app.quit",
        tooltip="Leave the realm (asks first while a battle runs)",
    ),
]

QUEST_BINDINGS: list[BindingType] = [
    Binding("n", "add_quest", "Add file", id="quests.add", tooltip="Add a chat JSONL file to the queue"),
    Binding(
        "plus,equals_sign",
        "raise_priority",
        "Priority +",
        key_display="+",
        id="quests.raise",
        tooltip="Move the quest to a higher priority",
    ),
    Binding(
        "minus",
        "lower_priority",
        "Priority -",
        key_display="-",
        id="quests.lower",
        tooltip="Move the quest to a lower priority",
    ),
    Binding("c", "cancel_quest", "Cancel", id="quests.cancel", tooltip="Take the quest off the queue"),
    Binding("y", "retry_quest", "Retry", id="quests.retry", tooltip="Queue a failed or cancelled quest again"),
    Binding("i", "scan_inbox", "Scan inbox", id="quests.inbox", tooltip="Pick up files in quests/inbox/ now"),
    Binding("escape", "close_form", "Close", show=False, id="quests.close", tooltip="Close the add-file form"),
]

VAULT_BINDINGS: list[BindingType] = [
    Binding("c", "promote", "Crown", id="vault.promote", tooltip="Make the blessed checkpoint the champion"),
    Binding(
        "d,delete",
        "delete",
        "Delete",
        key_display="d",
        id="vault.delete",
        tooltip="Delete the checkpoint (never the champion or the latest)",
    ),
    Binding(
        "e",
        "export",
        "Export",
        id="vault.export",
        tooltip="Write a Hugging Face folder (a LoRA adapter: merged, or as is)",
    ),
    Binding(
        "n",
        "new_game_plus",
        "New Game+",
        id="vault.new_game_plus",
        tooltip="Start a new campaign from this checkpoint (asks first)",
    ),
    Binding("u", "disk_usage", "Disk", id="vault.disk", tooltip="Measure disk usage again"),
    Binding(
        "f", "drift", "Drift", id="vault.drift", tooltip="How far each layer moved since the marked or previous save"
    ),
    Binding("m", "mark_drift", "Mark", id="vault.mark", tooltip="Measure drift from this checkpoint (again: unmark)"),
]

GUILD_BINDINGS: list[BindingType] = [
    Binding("f5", "refresh_guild", "Refresh", id="guild.refresh", tooltip="Read skills and evals again"),
    Binding(
        "A",
        "archive_campaign",
        "Archive",
        key_display="A",
        id="guild.archive",
        tooltip="Archive the campaign for good (asks first)",
    ),
    Binding(
        "N",
        "new_campaign",
        "New campaign",
        key_display="N",
        id="guild.new_campaign",
        tooltip="Start a new campaign with a hero you pick (the active campaign pauses)",
    ),
    Binding(
        "R",
        "resume_campaign",
        "Resume campaign",
        key_display="R",
        id="guild.resume_campaign",
        tooltip="Make a paused campaign you pick the active one (the active campaign pauses)",
    ),
    Binding(
        "m",
        "spar",
        "Spar",
        id="guild.spar",
        tooltip="Mirror school: the hero answers 100 problems of a skill; its mistakes become a high quest",
    ),
]

ORACLE_BINDINGS: list[BindingType] = [
    Binding("ctrl+l", "clear_chat", "Clear", id="oracle.clear", tooltip="Start a new conversation"),
    Binding(  # priority: the prompt's own Ctrl+K (delete to the end) would take it first
        "ctrl+k",
        "cancel_answer",
        "Hush",
        id="oracle.cancel",
        priority=True,
        tooltip="Stop the answer being generated",
    ),
    Binding("ctrl+t", "toggle_template", "Prompt", id="oracle.template", tooltip="Show or hide the prompt panel"),
    Binding("enter", "focus_prompt", "Type", id="oracle.type", tooltip="Move to the prompt to ask a question"),
    Binding(
        "escape",
        "leave_input",
        "Leave input",
        show=False,
        id="oracle.leave",
        tooltip="Leave the prompt so number keys switch screens",
    ),
]

ARMORY_BINDINGS: list[BindingType] = [
    Binding("ctrl+s", "apply", "Apply", id="armory.apply", tooltip="Validate and save to the hero YAML"),
    Binding("ctrl+z", "revert", "Revert", id="armory.revert", tooltip="Discard changes: read the hero YAML again"),
    Binding(
        "escape",
        "leave_input",
        "Leave input",
        show=False,
        id="armory.leave",
        tooltip="Leave the field so number keys switch screens",
    ),
]

MODAL_BINDINGS: list[BindingType] = [
    Binding("y", "answer(True)", "Yes", id="confirm.yes", tooltip="Confirm"),
    Binding("n,escape", "answer(False)", "No", key_display="n", id="confirm.no", tooltip="Cancel"),
]

EXPORT_BINDINGS: list[BindingType] = [
    Binding("m", "choose('merged')", "Merged", id="export.merged", tooltip="Merge the adapter into its base weights"),
    Binding("a", "choose('adapter')", "Adapter", id="export.adapter", tooltip="Export the adapter folder as it is"),
    Binding("escape,c", "choose('cancel')", "Cancel", key_display="Esc", id="export.cancel", tooltip="Export nothing"),
]

QUIT_BINDINGS: list[BindingType] = [
    Binding("s", "choose('stop')", "Stop & save", id="quit.stop", tooltip="Checkpoint, stop the battle, leave"),
    Binding(
        "h",
        "choose('headless')",
        "Keep training",
        id="quit.headless",
        tooltip="Checkpoint, then continue headless in the background (saves/headless.log)",
    ),
    Binding("escape,c", "choose('cancel')", "Cancel", key_display="Esc", id="quit.cancel", tooltip="Stay in the realm"),
]

PICK_BINDINGS: list[BindingType] = [
    Binding("enter", "pick", "Pick", key_display="Enter", id="pick.choose", tooltip="Take the highlighted entry"),
    Binding("escape", "cancel", "Cancel", key_display="Esc", id="pick.cancel", tooltip="Take nothing"),
]

HELP_BINDINGS: list[BindingType] = [
    Binding(
        "escape,question_mark",
        "dismiss",
        "Close",
        key_display="Esc / ?",
        id="help.close",
        tooltip="Close the key list",
    ),
]

LORE_TERM_BINDINGS: list[BindingType] = [
    Binding(
        "question_mark",
        "explain",
        "Lore",
        key_display="?",
        id="lore.explain",
        tooltip="On a focused game term (Tab or a click focuses it): its lore, the longer text",
    ),
]

LORE_BINDINGS: list[BindingType] = [
    Binding(
        "escape,question_mark,q",
        "dismiss",
        "Close",
        key_display="Esc / ?",
        id="lore.close",
        tooltip="Close the lore",
    ),
]

GROUPS: tuple[tuple[str, list[BindingType]], ...] = (
    ("Everywhere", APP_BINDINGS),
    ("Quest Board", QUEST_BINDINGS),
    ("Vault", VAULT_BINDINGS),
    ("Guild", GUILD_BINDINGS),
    ("Oracle", ORACLE_BINDINGS),
    ("Armory", ARMORY_BINDINGS),
    ("Confirm dialog", MODAL_BINDINGS),
    ("Pick list (Guild: hero, campaign, skill)", PICK_BINDINGS),
    ("Export dialog (adapter checkpoints)", EXPORT_BINDINGS),
    ("Leaving during a battle", QUIT_BINDINGS),
    ("Key list", HELP_BINDINGS),
    ("A focused game term", LORE_TERM_BINDINGS),
    ("Lore", LORE_BINDINGS),
)

KEY_NAMES = {"escape": "Esc", "delete": "Del", "f5": "F5", "question_mark": "?", "plus": "+", "minus": "-"}


def bindings_of(group: list[BindingType]) -> list[Binding]:
    """The Binding objects of a list (every entry here is one; tuples are not used)."""
    return [b for b in group if isinstance(b, Binding)]


def key_label(binding: Binding) -> str:
    if binding.key_display:
        return binding.key_display
    names = (KEY_NAMES.get(k.strip(), k.strip()) for k in binding.key.split(","))
    return " / ".join(n.replace("ctrl+", "Ctrl+") for n in names)
