"""The Arena's objective as pure tensor functions (GRPO and its Dr. GRPO / DAPO variants).

* `group_advantages`: each answer's reward minus the mean reward of its group (the G answers to
  one problem), divided by the group's standard deviation (+ eps) when `scale` (GRPO, DAPO);
  Dr. GRPO (Liu et al. 2025) drops the division. A group whose rewards are all equal gives 0.
* `weigh_negatives`: negative advantages × a weight in [0, 1] (1: plain GRPO; 0: only the answers
  above their group's mean train, "positive sample reinforcement"). At dio-nano's size the
  push-down of sampled wrong answers hid the signal: on the BIN 3 start (bench/arena_gradients.py)
  the gradient's negative part is larger than its positive part (norm 0.49 vs 0.33), less alike
  between two draws of the same problems (cosine 0.67 vs 0.92) and less like SFT's gradient (0.52
  vs 0.93); plain GRPO churned the held-out answers, positive-only raised them (docs/schools.md).
* `token_terms`: per completion token, the clipped policy-gradient term
  −min(ρ·A, clip(ρ, 1−ε_low, 1+ε_high)·A) with ρ = exp(log π − log π_old), plus β·KL to the
  reference with the k3 estimator exp(r − l) − (r − l) − 1 (r, l: reference and policy log p),
  as in the GRPO paper (Shao et al. 2024) and TRL's GRPOTrainer.
* `normalise`: the sum of those terms over a chunk, divided so that the chunks of one step add up
  to the step's loss:
  - `grpo`: each sequence's mean over its tokens, averaged over the sequences;
  - `dr_grpo`: the sum over every token / (sequences × a constant max completion length);
  - `dapo`: the sum over every token / every completion token of the step (token-level mean).
"""

from __future__ import annotations

import torch

ADVANTAGE_EPS = 1e-4
"""Added to the group's std before dividing (TRL's constant)."""


def group_advantages(rewards: torch.Tensor, *, scale: bool = True, eps: float = ADVANTAGE_EPS) -> torch.Tensor:
    """Advantages `[B, G]` from rewards `[B, G]` (one row per problem, G ≥ 2 answers each)."""
    if rewards.dim() != 2 or rewards.shape[1] < 2:
        raise ValueError(f"rewards must be [problems, group ≥ 2], got {tuple(rewards.shape)}")
    # float64, and exactly 0 for a group whose rewards are all equal: in float32 the mean of eight
    # equal rewards (1.6 …) can differ from them by an ulp, which the division by (std + eps)
    # turned into advantages of ~1e-3 — every answer of a no-signal group then went through the
    # policy's forward and backward for nothing (half the rows of a step at BIN 3).
    rewards = rewards.double()
    centred = rewards - rewards.mean(dim=1, keepdim=True)
    if scale:
        centred = centred / (rewards.std(dim=1, keepdim=True) + eps)
    return torch.where(signal_groups(rewards).unsqueeze(1), centred, torch.zeros_like(centred)).float()


def weigh_negatives(advantages: torch.Tensor, weight: float) -> torch.Tensor:
    """`advantages` with the negative ones × `weight` (0 ≤ weight ≤ 1); the positive ones unchanged."""
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"negative weight must be in [0, 1], got {weight}")
    if weight == 1.0:
        return advantages
    return torch.where(advantages < 0, advantages * weight, advantages)


def signal_groups(rewards: torch.Tensor) -> torch.Tensor:
    """`[B]` bool: groups whose answers did not all score the same (the only ones that teach)."""
    return (rewards.max(dim=1).values - rewards.min(dim=1).values) > 0


def token_logps(logits: torch.Tensor, labels: torch.Tensor, ignore: int = -100) -> torch.Tensor:
    """log p(label) per position `[N, T]` from logits `[N, T, V]` and pre-shifted labels (0 where ignored)."""
    logp = torch.log_softmax(logits.float(), dim=-1).gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return torch.where(labels != ignore, logp, torch.zeros_like(logp))


def kl_k3(logps: torch.Tensor, ref_logps: torch.Tensor) -> torch.Tensor:
    """Per-token KL(π ‖ π_ref) estimate exp(r − l) − (r − l) − 1 (≥ 0, 0 where they agree)."""
    delta = ref_logps - logps
    return torch.exp(delta) - delta - 1.0


def token_terms(
    logps: torch.Tensor,
    old_logps: torch.Tensor,
    advantages: torch.Tensor,
    *,
    clip_low: float,
    clip_high: float,
    ref_logps: torch.Tensor | None = None,
    beta: float = 0.0,
) -> torch.Tensor:
    """Per-token loss terms `[N, T]` (mask them before summing); `advantages` is `[N]`."""
    ratio = torch.exp(logps - old_logps)
    adv = advantages.unsqueeze(-1)
    clipped = torch.clamp(ratio, 1.0 - clip_low, 1.0 + clip_high)
    terms = -torch.min(ratio * adv, clipped * adv)
    if ref_logps is not None and beta:
        terms = terms + beta * kl_k3(logps, ref_logps)
    return terms


def normalise(
    terms: torch.Tensor,
    mask: torch.Tensor,
    loss_type: str,
    *,
    total_sequences: int,
    total_tokens: int,
    max_tokens: int,
) -> torch.Tensor:
    """This chunk's share of the step's loss (see the module docstring); `mask` is `[N, T]`."""
    mask = mask.to(terms.dtype)
    summed = terms * mask
    if loss_type == "grpo":
        per_sequence = summed.sum(-1) / mask.sum(-1).clamp(min=1.0)
        return per_sequence.sum() / max(1, total_sequences)
    if loss_type == "dr_grpo":
        return summed.sum() / max(1, total_sequences * max_tokens)
    if loss_type == "dapo":
        return summed.sum() / max(1, total_tokens)
    raise ValueError(f"unknown loss_type {loss_type!r} (grpo, dr_grpo, dapo)")
