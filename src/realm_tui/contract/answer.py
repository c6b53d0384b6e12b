"""What crosses the pipe of the hero answering outside a battle (`realm quest spar`, `realm eval`):
the parent (`realm_tui.services.answerer.HeroAnswerer`) sends an `AnswerSetup`, then requests;
the spawned child (`realm_tui.trainer.entry.answer`) sends a `Reply` to each. Frozen dataclasses
that survive a pickle round trip.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEFAULT_THREADS = 2
"""Torch threads of the answering child."""


@dataclass(frozen=True)
class AnswerSetup:
    hero: dict[str, Any]
    """The validated hero config (`HeroConfig.model_dump(mode="json")`)."""
    realm_root: str
    checkpoint: str | None = None
    """A checkpoint folder; None for the base hero."""
    memory_profile: dict[str, Any] = field(default_factory=dict)
    threads: int = DEFAULT_THREADS


@dataclass(frozen=True)
class AskAnswers:
    prompts: tuple[str, ...]
    """User prompts, one conversation each."""
    max_new_tokens: int = 128
    system: str | None = None
    temperature: float = 0.0
    """0: greedy (the evals' path); above 0: sampled, with `top_p` (`trainer.sampling`)."""
    top_p: float = 1.0


@dataclass(frozen=True)
class AskEval:
    skill: str
    level: int
    samples: int
    step: int = 0


@dataclass(frozen=True)
class Reply:
    value: Any = None
    error: str = ""
