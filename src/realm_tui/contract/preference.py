"""The preference quest's line format (the Judge school, DPO): `{"prompt", "chosen", "rejected"}`.

One object per line:

* `prompt`: a string (one user turn) or a list of `{role, content}` messages ending with a user
  turn (roles system, user, assistant);
* `chosen`, `rejected`: a string (one assistant turn), one assistant message object, or a list
  of messages holding at least one assistant turn with content.

Both sides read it: the parent validates a whole file before a battle
(`realm_tui.quests.preference_data`), the trainer child reads the pairs it trains on
(`realm_tui.trainer.preference_data`). Pure: no I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Messages = list[dict[str, str]]
PREFERENCE_KEYS = ("prompt", "chosen", "rejected")
ROLES = frozenset({"system", "user", "assistant"})
"""The chat roles a message may have (the same set as chat quests, `quests.validate.ROLES`)."""


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
