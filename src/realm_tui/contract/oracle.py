"""What crosses the Oracle's pipe: the parent (`realm_tui.services.oracle`) asks a spawned child
(`realm_tui.trainer.entry.oracle`) to load a hero and stream generated text. Frozen dataclasses
that survive a pickle round trip; nothing heavy is imported here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class OracleLoad:
    hero: dict[str, Any]
    """The validated hero config (`HeroConfig.model_dump(mode="json")`)."""
    realm_root: str
    checkpoint: str | None
    """A checkpoint folder, or None for the base hero."""
    label: str
    threads: int = 1
    """Torch threads: one, so a running battle keeps the cores."""


@dataclass(frozen=True)
class OracleAsk:
    request_id: str
    messages: tuple[tuple[str, str], ...]
    """(role, content) pairs, oldest first."""
    max_new_tokens: int = 96
    temperature: float = 0.0
    """0 is greedy."""


@dataclass(frozen=True)
class OracleCancel:
    pass


@dataclass(frozen=True)
class OracleLoaded:
    label: str
    chat_template: str
    parameters: int
    error: str = ""


@dataclass(frozen=True)
class OracleChunk:
    request_id: str
    text: str
    """New text since the previous chunk."""
    done: bool = False
    error: str = ""
    tokens: int = 0
    seconds: float = 0.0
    prompt: str = ""
    """The prompt as the hero reads it (the conversation through its chat template, special tokens
    and all), sent alone before an answer's first text."""


OracleCommand = OracleLoad | OracleAsk | OracleCancel
OracleEvent = OracleLoaded | OracleChunk
