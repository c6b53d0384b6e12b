"""Content checks on examples that are schema-valid: empty or looping answers, duplicates."""

from __future__ import annotations

import hashlib
import json
import zlib
from typing import Any

from realm_tui.quests.policy import QuestPolicy


def degenerate_reason(text: str, policy: QuestPolicy) -> str | None:
    """Why an answer looks like a generation loop, or None.

    Short answers are never judged on compressibility: a 32-bit BIN answer of all ones is
    legitimate. Long ones that zlib shrinks below `repetition_max_ratio` are loops (real answers
    of our skills compress to 0.33 and more); so is one word repeated `max_word_run` times.
    """
    raw = text.encode("utf-8")
    if len(raw) >= policy.repetition_min_bytes:
        ratio = len(zlib.compress(raw, 6)) / len(raw)
        if ratio < policy.repetition_max_ratio:
            return f"repetitive answer (compresses to {ratio:.0%} of its size; a loop?)"
    run, longest, previous = 0, 0, None
    for word in text.split():
        run = run + 1 if word == previous else 1
        previous = word
        longest = max(longest, run)
        if longest >= policy.max_word_run:
            return f"repetitive answer ({word[:20]!r} {longest} times in a row)"
    return None


def content_reason(messages: list[dict[str, Any]], policy: QuestPolicy) -> str | None:
    """Why the answers of a schema-valid example are unusable, or None."""
    for i, message in enumerate(messages):
        if message.get("role") != "assistant":
            continue
        content = str(message.get("content", ""))
        if not content.strip():
            return f"messages[{i}] is an empty assistant turn"
        reason = degenerate_reason(content, policy)
        if reason is not None:
            return f"messages[{i}]: {reason}"
    return None


def example_key(messages: list[dict[str, Any]]) -> bytes:
    """A short fingerprint of an example's roles and contents (other fields are ignored)."""
    canon = json.dumps([[m.get("role"), m.get("content")] for m in messages], ensure_ascii=True)
    return hashlib.blake2b(canon.encode("ascii"), digest_size=16).digest()
