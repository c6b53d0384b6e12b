"""Preference quests for the Judge school (DPO): `{"prompt", "chosen", "rejected"}` JSONL.

One object per line:

* `prompt`: a string (one user turn) or a list of `{role, content}` messages ending with a user
  turn (roles system, user, assistant);
* `chosen`, `rejected`: a string (one assistant turn), one assistant message object, or a list
  of messages holding at least one assistant turn with content.

This module is torch-free at import (the parent validates quests with it before a battle);
`tokenize_pair` imports the trainer's tokenization lazily. Problems are reported as
`file:line: reason`, in the same `QuestReport` as chat quests (`realm_tui.quests.validate`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from realm_tui.errors import InputError
from realm_tui.quests.validate import MAX_LISTED_PROBLEMS, ROLES, LineProblem, QuestReport, parse_line

if TYPE_CHECKING:
    from realm_tui.trainer.data import ChatFormat, Example

Messages = list[dict[str, str]]
PREFERENCE_KEYS = ("prompt", "chosen", "rejected")
MAX_PREFERENCE_BYTES = 2_000_000_000


@dataclass(frozen=True)
class Preference:
    prompt: Messages
    chosen: Messages
    rejected: Messages


def _messages(value: Any, field: str, default_role: str) -> tuple[Messages | None, str | None]:
    if isinstance(value, str):
        return [{"role": default_role, "content": value}], None
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not value:
        return None, f'"{field}" must be a string or a non-empty list of messages'
    out: Messages = []
    for i, message in enumerate(value):
        if not isinstance(message, dict):
            return None, f"{field}[{i}] is not an object"
        role, content = message.get("role"), message.get("content")
        if not isinstance(role, str) or role not in ROLES:
            return None, f"{field}[{i}].role is {role!r}; expected one of system, user, assistant"
        if not isinstance(content, str):
            return None, f"{field}[{i}].content must be a string"
        try:
            content.encode("utf-8")
        except UnicodeEncodeError:
            return None, f"{field}[{i}].content holds an unpaired surrogate escape (not text)"
        out.append({"role": role, "content": content})
    return out, None


def parse_preference(obj: Any) -> tuple[Preference | None, str | None]:
    """(preference, None) for a usable line, else (None, the reason)."""
    if not isinstance(obj, dict):
        return None, f"expected a JSON object, got {type(obj).__name__}"
    missing = [k for k in PREFERENCE_KEYS if k not in obj]
    if missing:
        extra = ' (this looks like a chat quest: the judge school needs "prompt", "chosen", "rejected")'
        return None, "missing " + ", ".join(f'"{k}"' for k in missing) + (extra if "messages" in obj else "")
    prompt, why = _messages(obj["prompt"], "prompt", "user")
    if prompt is None:
        return None, why
    if prompt[-1]["role"] != "user" or not prompt[-1]["content"].strip():
        return None, "prompt must end with a user turn with content"
    sides: dict[str, Messages] = {}
    for key in ("chosen", "rejected"):
        side, why = _messages(obj[key], key, "assistant")
        if side is None:
            return None, why
        if not any(m["role"] == "assistant" and m["content"].strip() for m in side):
            return None, f"{key} has no assistant turn with content"
        sides[key] = side
    if sides["chosen"] == sides["rejected"]:
        return None, "chosen and rejected are the same answer (nothing to prefer)"
    return Preference(prompt, sides["chosen"], sides["rejected"]), None


def check_preference_example(obj: Any) -> str | None:
    """The reason a parsed line is not a usable preference example, or None when it is."""
    return parse_preference(obj)[1]


def read_preferences(path: Path) -> tuple[list[tuple[str, Preference]], QuestReport]:
    """Every usable line as (raw line, preference), and the report of the whole file."""
    path = Path(path)
    if path.is_symlink() or not path.is_file():
        problem = "quest file not found" if not path.exists() else "not a regular file"
        raise InputError(path, "a link, not a regular file" if path.is_symlink() else problem)
    if path.stat().st_size > MAX_PREFERENCE_BYTES:
        raise InputError(path, f"larger than {MAX_PREFERENCE_BYTES:,} bytes; is this really a quest?")
    rows: list[tuple[str, Preference]] = []
    problems: list[LineProblem] = []
    valid: list[int] = []
    blanks = omitted = 0
    try:
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                try:
                    text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
                except UnicodeDecodeError:
                    reason: str | None = "not UTF-8 text"
                else:
                    if not text.strip():
                        blanks += 1
                        continue
                    obj, reason = parse_line(text)
                    if reason is None:
                        pref, reason = parse_preference(obj)
                        if pref is not None:
                            valid.append(number)
                            rows.append((text.rstrip("\r\n"), pref))
                            continue
                if len(problems) < MAX_LISTED_PROBLEMS:
                    problems.append(LineProblem(number, reason or "unusable"))
                else:
                    omitted += 1
    except OSError as err:
        raise InputError(path, f"cannot read: {err.strerror or err}") from None
    return rows, QuestReport(path, tuple(valid), tuple(problems), blanks, omitted_problems=omitted)


def validate_preference_file(path: Path) -> QuestReport:
    return read_preferences(path)[1]


def require_valid_preferences(path: Path) -> QuestReport:
    """Validate and raise one InputError listing file:line problems when the quest is unusable."""
    report = validate_preference_file(path)
    if not report.ok:
        raise InputError(None, "preference quest rejected before training:\n" + report.summary())
    return report


# ---------------------------------------------------------------- tokens (trainer side)


def tokenize_continuation(
    prompt: Messages, continuation: Messages, tokenizer: Any, max_length: int, fmt: ChatFormat
) -> Example:
    """prompt + continuation as one example whose labels cover only the continuation's assistant
    tokens (earlier assistant turns inside the prompt are context, not trained)."""
    from realm_tui.trainer.data import IGNORE, Example, render_chat

    prompt_text, _ = render_chat(prompt, fmt)
    text, spans = render_chat([*prompt, *continuation], fmt)
    spans = [(a, b) for a, b in spans if a >= len(prompt_text)]
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids: list[int] = list(enc["input_ids"])[:max_length]
    labels = [
        tok if any(a <= start < b and end <= b for a, b in spans) else IGNORE
        for tok, (start, end) in zip(ids, enc["offset_mapping"], strict=False)
    ]
    return Example(tuple(ids), tuple(labels))
