"""Token counts of chat examples without a tokenizer (the parent process never imports torch).

A caller with a real tokenizer passes its own `count_tokens`; otherwise `counter_for` picks a cheap
estimate that fits the hero: exact character counts for a character-level nano hero, a
conservative chars-based estimate for BPE models.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

TokenCounter = Callable[[str], int]

MESSAGE_OVERHEAD = 3
"""Template tokens around each message: `<|im_start|>`, `<|im_end|>` and the newline after it."""


def estimate_tokens(text: str) -> int:
    """A BPE-ish estimate: a token per 3 ASCII characters, one per other character.

    Real BPE vocabularies average about 4 ASCII characters per token and split digits and
    symbols finely; this leans towards overcounting so a long example is not missed.
    """
    ascii_chars = sum(1 for ch in text if ch < "\x80")
    return -(-ascii_chars // 3) + (len(text) - ascii_chars)


def count_chars(text: str) -> int:
    """One token per character: exact for the character vocabulary of a nano hero."""
    return len(text)


def counter_for(hero: Any | None) -> TokenCounter:
    """The cheap counter that suits `hero` (a HeroConfig): characters for a nano hero."""
    model = getattr(hero, "model", None)
    if getattr(model, "builder", None) == "nano":
        return count_chars
    return estimate_tokens


def example_tokens(messages: Iterable[Mapping[str, Any]], count: TokenCounter) -> int:
    """Tokens of one templated example: each role line, content and template overhead."""
    return sum(
        count(str(m.get("role", ""))) + 1 + count(str(m.get("content", ""))) + MESSAGE_OVERHEAD for m in messages
    )


def fit_prefix(messages: list[dict[str, Any]], count: TokenCounter, limit: int) -> list[dict[str, Any]] | None:
    """The longest prefix of `messages` within `limit` tokens that ends on an answer, or None."""
    best: list[dict[str, Any]] | None = None
    used = 0
    for i, message in enumerate(messages):
        used += example_tokens([message], count)
        if used > limit:
            break
        if message.get("role") == "assistant" and str(message.get("content", "")).strip():
            best = messages[: i + 1]
    return best
