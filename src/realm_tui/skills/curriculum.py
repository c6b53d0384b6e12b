"""Curriculum mixing: where each example of one optimizer step comes from.

Pure (no torch, no I/O): `plan_mix` reads the curriculum dict the parent sends to the trainer
(`ProgressionKeeper.curriculum_payload()`, `TrainJob.curriculum`, `SetCurriculum`)::

    {"strategy": "weighted" | "round_robin" | "lowest_first" | "focus",
     "focus_skill": str | None,
     "quest_share": float,        # share of the step from the quest file (when there is one)
     "review_share": float,       # share of the *skill* examples that review mastered levels
     "skills": {id: {"level", "mastered", "weight", "review_levels", "maintenance_levels"}},
     "modules": [{"id", "weight", "priority", "files": [path, ...], "skipped": str | None, ...}]}

and decides, for the `n` examples of one step, which come from the quest, which from an installed
quest module and which are generated for a (skill, level). The trainer then builds them
(`realm_tui.trainer.mixer`). `modules` is added by the parent (`realm_tui.quests.compose`);
only entries with files and a weight > 0 take part.

Rules:
- no quest → every example is skill data; no skill → every example is quest data;
- otherwise `quest_share` of the examples are quest data, the rest skill data;
- modules share the non-quest part with the skills by weight: with M the total weight of the
  modules taking part and S the total weight of the curriculum's skills (each skill counted as 1
  when all weigh 0), the modules get M / (M + S) of the non-quest examples (all of them when there
  is no skill); review and the strategy apply to the skills' part only. The module examples are
  dealt in priority order (lower `priority` first, then id): each module in turn gets its weight's
  share of what is left, the last one the rest, so every module gets exactly its weight share on
  average whatever its priority; priority orders the deal, the plan and the summaries;
- `review_share` of the skill examples review mastered levels, spread uniformly over the skills
  that have any (weights do not apply: a weight-0 skill stays in review); a skill with maintenance levels
  (regressed levels) sends MAINTENANCE_SHARE of its review there first, the rest goes uniformly
  over all of its `review_levels`. Nothing mastered → no review at all;
- the other skill examples train at each skill's training level, chosen by the strategy:
  `weighted` (per example, in proportion to the weights), `round_robin` (the whole step to one
  skill, the next skill at the next step), `lowest_first` (the skill(s) with the lowest training
  level), `focus` (only `focus_skill`; review still covers every skill's mastered levels).

Counts are integers per step: a share of `n` is its floor plus one with the probability of the
remainder, so the expected share is exact and the spread is at most one example per step.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

STRATEGIES = ("weighted", "round_robin", "lowest_first", "focus")
MAINTENANCE_SHARE = 0.5
"""Share of a skill's review examples that go to its maintenance (regressed) levels, when any."""


@dataclass(frozen=True, order=True)
class Source:
    """Where one training example comes from: the quest file, a module, or a generated (skill, level)."""

    kind: str
    """`quest`, `module` or `skill`."""
    skill: str = ""
    level: int = 0
    review: bool = False
    """A mastered level (review / maintenance) rather than the skill's training level."""

    module: str = ""
    """The module id, for kind `module`."""

    @property
    def is_quest(self) -> bool:
        return self.kind == "quest"

    @property
    def is_skill(self) -> bool:
        return self.kind == "skill"


QUEST = Source("quest")


@dataclass(frozen=True)
class SkillSlot:
    """One skill entry of the curriculum, validated."""

    id: str
    level: int
    weight: float
    review_levels: tuple[int, ...]
    maintenance_levels: tuple[int, ...]


@dataclass(frozen=True)
class ModuleSlot:
    """One installed module taking part in the mix."""

    id: str
    weight: float
    priority: int


def _share(value: Any, default: float) -> float:
    try:
        share = float(value if value is not None else default)
    except (TypeError, ValueError):
        return default
    return min(1.0, max(0.0, share)) if math.isfinite(share) else default


def skill_slots(curriculum: Mapping[str, Any]) -> list[SkillSlot]:
    """The curriculum's skills with a training level ≥ 1, sorted by id (a stable order)."""
    out: list[SkillSlot] = []
    skills = curriculum.get("skills") or {}
    for sid in sorted(skills):
        entry = skills[sid] or {}
        level = int(entry.get("level") or 0)
        if level < 1:
            continue
        review = tuple(sorted({int(x) for x in entry.get("review_levels") or () if int(x) >= 1}))
        maintenance = tuple(sorted({int(x) for x in entry.get("maintenance_levels") or () if int(x) >= 1}))
        weight = float(entry.get("weight", 1.0) or 0.0)
        out.append(SkillSlot(sid, level, max(0.0, weight) if math.isfinite(weight) else 0.0, review, maintenance))
    return out


def has_skills(curriculum: Mapping[str, Any]) -> bool:
    return bool(skill_slots(curriculum))


def module_slots(curriculum: Mapping[str, Any]) -> list[ModuleSlot]:
    """The modules with data files and a weight > 0, in priority order (lower first, then id)."""
    out: list[ModuleSlot] = []
    for entry in curriculum.get("modules") or ():
        if not isinstance(entry, Mapping) or not entry.get("files") or entry.get("skipped"):
            continue
        try:
            weight, priority = float(entry.get("weight", 1.0)), int(entry.get("priority", 0) or 0)
        except (TypeError, ValueError):
            continue
        if math.isfinite(weight) and weight > 0:
            out.append(ModuleSlot(str(entry["id"]), weight, priority))
    return sorted(out, key=lambda m: (m.priority, m.id))


def _skill_weight(slots: list[SkillSlot]) -> float:
    total = sum(s.weight for s in slots)
    return total if total > 0 else float(len(slots))


def module_shares(curriculum: Mapping[str, Any]) -> dict[str, float]:
    """Expected share of the *non-quest* examples per module id, in priority order."""
    mods = module_slots(curriculum)
    total = sum(m.weight for m in mods) + _skill_weight(skill_slots(curriculum))
    return {m.id: m.weight / total for m in mods}


def _count(share: float, n: int, rng: random.Random) -> int:
    exact = share * n
    whole = math.floor(exact)
    return min(n, whole + (1 if rng.random() < exact - whole else 0))


def _weighted_pick(slots: list[SkillSlot], k: int, rng: random.Random) -> list[SkillSlot]:
    weights = [s.weight for s in slots]
    if not any(w > 0 for w in weights):
        weights = [1.0] * len(slots)
    return rng.choices(slots, weights=weights, k=k)


def _new_level_slots(curriculum: Mapping[str, Any], slots: list[SkillSlot], step: int) -> list[SkillSlot]:
    """The skills that share this step's new-level examples (weights still apply for `weighted`)."""
    strategy = str(curriculum.get("strategy") or "weighted")
    if strategy == "focus":
        focus = [s for s in slots if s.id == curriculum.get("focus_skill")]
        return focus or slots
    if strategy == "round_robin":
        return [slots[step % len(slots)]]
    if strategy == "lowest_first":
        lowest = min(s.level for s in slots)
        return [s for s in slots if s.level == lowest]
    return slots


def _review_source(slot: SkillSlot, rng: random.Random) -> Source:
    if slot.maintenance_levels and rng.random() < MAINTENANCE_SHARE:
        return Source("skill", slot.id, rng.choice(slot.maintenance_levels), review=True)
    levels = slot.review_levels or slot.maintenance_levels
    return Source("skill", slot.id, rng.choice(levels), review=True)


def _deal_modules(mods: list[ModuleSlot], n: int, rng: random.Random) -> list[Source]:
    """`n` module examples dealt in priority order: each module its weight's share of what is left."""
    out: list[Source] = []
    left, weight_left = n, sum(m.weight for m in mods)
    for i, mod in enumerate(mods):
        k = left if i == len(mods) - 1 else _count(mod.weight / weight_left, left, rng)
        out += [Source("module", module=mod.id)] * k
        left, weight_left = left - k, weight_left - mod.weight
    return out


def plan_mix(
    curriculum: Mapping[str, Any], n: int, rng: random.Random, *, has_quest: bool = True, step: int = 0
) -> list[Source]:
    """Sources of the `n` examples of one step (quest examples first, then module, then skill ones).

    `rng` makes every random choice (seed it from the battle seed and the step for a
    reproducible mix); `step` drives `round_robin`.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    slots = skill_slots(curriculum)
    mods = module_slots(curriculum)
    if not slots and not mods:
        if not has_quest:
            raise ValueError("nothing to train on: no quest, no skill and no module in the curriculum")
        return [QUEST] * n
    n_quest = _count(_share(curriculum.get("quest_share"), 0.5), n, rng) if has_quest else 0
    out: list[Source] = [QUEST] * n_quest
    n_free = n - n_quest
    n_module = 0
    if mods:
        weight = sum(m.weight for m in mods)
        n_module = n_free if not slots else _count(weight / (weight + _skill_weight(slots)), n_free, rng)
        out += _deal_modules(mods, n_module, rng)
    if not slots:
        return out
    n_skill = n_free - n_module
    reviewable = [s for s in slots if s.review_levels or s.maintenance_levels]
    n_review = _count(_share(curriculum.get("review_share"), 0.0), n_skill, rng) if reviewable else 0
    for slot in _weighted_pick(_new_level_slots(curriculum, slots, step), n_skill - n_review, rng):
        out.append(Source("skill", slot.id, slot.level))
    for _ in range(n_review):
        out.append(_review_source(rng.choice(reviewable), rng))
    return out


def summarize(sources: list[Source]) -> dict[tuple[str, int], int]:
    """Skill examples per (skill, level), in first-seen order (quest and modules are left out)."""
    return dict(Counter((s.skill, s.level) for s in sources if s.is_skill))


def summarize_modules(sources: list[Source]) -> dict[str, int]:
    """Module examples per module id, in first-seen (priority) order."""
    return dict(Counter(s.module for s in sources if s.kind == "module"))
