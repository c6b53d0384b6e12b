"""Text put into Textual markup as it is.

`textual.markup.escape` escapes only `[` that opens something tag-shaped (`[b]`, `[/]`), but
Textual's parser also takes an unmatched `[` (a hero's half-written JSON: `["wo`) as the start of
a tag and swallows the real closing tag after it, which then shows as `[/]`. So every `[` is
escaped here, and a trailing backslash (which would escape the next tag) is kept apart from it.
"""

from __future__ import annotations

ZERO_WIDTH_SPACE = "\u200b"


def escape(text: str) -> str:
    """`text` as literal Textual markup: every `[` escaped, a trailing backslash fenced off."""
    out = text.replace("[", "\\[")
    return out + ZERO_WIDTH_SPACE if out.endswith("\\") else out
