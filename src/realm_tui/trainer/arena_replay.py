"""One sampled draw of the Arena, judged (`Rollout`), and its reuse over several policy updates
(`Replay`, the `iterations` option: PPO's epochs, TRL's `num_iterations`, GRPO's μ).

With `iterations` > 1 the Arena samples and judges a draw once and trains on it for that many
optimizer steps. The first update's log-probabilities are those of the sampling policy (no update
has happened yet), so they are kept per answer as π_old; the later updates' ratio
ρ = π/π_old then moves away from 1 and the clip bounds how far one draw can push the policy.
A replay is saved with the checkpoint, so a resumed battle finishes the draw exactly as a straight
one would.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass(frozen=True)
class Rollout:
    """One step's sampled answers, judged: row r answers problem r // group."""

    prompts: list[list[int]]
    tokens: list[list[int]]
    stopped: list[int | None]
    rewards: torch.Tensor
    """[B, G]"""
    correct: torch.Tensor
    """[B, G] bool"""
    seconds: float


@dataclass
class Replay:
    """A draw being trained on for `iterations` updates; `old[r]`: row r's log p per position
    (prompt and answer, zeros where no label) under the policy that sampled it."""

    rollout: Rollout
    uses: int = 1
    old: dict[int, torch.Tensor] = field(default_factory=dict)

    def old_logps(self, rows: list[int], width: int) -> torch.Tensor | None:
        """π_old for these rows, right-padded to `width` (as `collate_padded` pads), or None
        when a row has none yet (the draw's first update: π_old is the current policy)."""
        if not rows or any(r not in self.old for r in rows):
            return None
        out = torch.zeros((len(rows), width), dtype=torch.float32)
        for i, r in enumerate(rows):
            saved = self.old[r][:width]
            out[i, : saved.shape[0]] = saved
        return out

    def keep(self, rows: list[int], logps: torch.Tensor, lengths: list[int]) -> None:
        """Record π_old from the draw's first update (`logps` `[N, T]`, detached)."""
        for i, r in enumerate(rows):
            self.old.setdefault(r, logps[i, : lengths[i]].detach().float().cpu().clone())

    def state(self) -> dict[str, Any]:
        ro = self.rollout
        return {
            "prompts": ro.prompts,
            "tokens": ro.tokens,
            "stopped": [-1 if s is None else s for s in ro.stopped],
            "rewards": ro.rewards,
            "correct": ro.correct,
            "uses": self.uses,
            "old": dict(self.old),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Replay:
        rollout = Rollout(
            [list(p) for p in state["prompts"]],
            [list(t) for t in state["tokens"]],
            [None if s < 0 else int(s) for s in state["stopped"]],
            state["rewards"],
            state["correct"],
            0.0,
        )
        return cls(rollout, int(state["uses"]), {int(r): t for r, t in state["old"].items()})
