"""The Judge school's preference quest, child side: read the pairs and tokenize them.

The parent validated the whole file before the battle (`realm_tui.quests.preference_data`); this
reads it again with the same line format (`realm_tui.contract.preference`) and refuses the first
line that no longer parses (the file changed under the battle) with one `InputError` naming the
file and the line. Torch-free at import; `tokenize_continuation` imports the trainer's
tokenization lazily.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from realm_tui.contract.preference import Messages, Preference, parse_preference
from realm_tui.errors import InputError

if TYPE_CHECKING:
    from realm_tui.trainer.data import ChatFormat, Example


def read_preference_rows(path: Path) -> list[tuple[str, Preference]]:
    """(raw line, preference) per non-blank line; a bad line raises InputError naming file and line."""
    path = Path(path)
    rows: list[tuple[str, Preference]] = []
    try:
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                try:
                    text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
                except UnicodeDecodeError:
                    raise InputError(path, f"line {number}: not UTF-8 text") from None
                if not text.strip():
                    continue
                try:
                    pref, reason = parse_preference(json.loads(text))
                except (ValueError, RecursionError) as err:
                    pref, reason = None, f"bad JSON: {err}"
                if pref is None:
                    raise InputError(path, f"line {number}: not a preference pair ({reason})")
                rows.append((text.rstrip("\r\n"), pref))
    except OSError as err:
        raise InputError(path, f"cannot read quest file: {err.strerror or err}") from None
    return rows


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
