"""Campaigns: one hero's attempt to reach its level cap, as pure state transitions.

A ``CampaignState`` is never changed in place: every function returns a new one. Status moves
``active ⇄ paused``, ``active|paused → maxed_out``, ``maxed_out → active`` (the player pushes
on), and anything → ``archived`` (final). An archived campaign records nothing more; an illegal
move raises ``ValueError`` with a message for the player. New Game+ starts a fresh campaign from
a checkpoint of one that is no longer active.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from realm_tui.rules.strain import LevelMark, LevelTransitionRecord, transition_record


class CampaignStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    MAXED_OUT = "maxed_out"
    ARCHIVED = "archived"


@dataclass(frozen=True)
class Peaks:
    """Personal bests of the campaign."""

    lowest_loss: float | None = None
    lowest_loss_step: int | None = None
    highest_accuracy: float | None = None
    highest_accuracy_at: tuple[str, int] | None = None
    """(skill, level) of the highest accuracy."""
    peak_skill_levels: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Milestone:
    step: int
    kind: str
    """started | paused | resumed | level_up | maxed_out | archived | new_game_plus | custom kinds."""
    text: str


@dataclass(frozen=True)
class CampaignState:
    id: str
    hero_id: str
    status: CampaignStatus = CampaignStatus.ACTIVE
    start_checkpoint: str | None = None
    """Checkpoint the campaign started from; ``None`` for a fresh hero."""
    start_step: int = 0
    """Optimizer step the campaign started at."""
    current_step: int = 0
    skill_levels: Mapping[str, int] = field(default_factory=dict)
    """Mastered level per skill now."""
    peaks: Peaks = field(default_factory=Peaks)
    effort_per_skill: Mapping[str, float] = field(default_factory=dict)
    level_marks: Mapping[str, LevelMark] = field(default_factory=dict)
    """Where each skill's current level began (for the next transition record)."""
    transitions: tuple[LevelTransitionRecord, ...] = ()
    milestones: tuple[Milestone, ...] = ()
    new_game_plus_of: str | None = None
    """Id of the campaign this one continues as New Game+."""
    last_loss: float | None = None
    maxed_out_reason: str | None = None

    @property
    def steps_trained(self) -> int:
        """XP: optimizer steps trained in this campaign."""
        return self.current_step - self.start_step

    @property
    def total_effort(self) -> float:
        return sum(self.effort_per_skill.values())


def _require_not_archived(state: CampaignState, action: str) -> None:
    if state.status is CampaignStatus.ARCHIVED:
        raise ValueError(f"Campaign {state.id!r} is archived: cannot {action}.")


def _milestone(state: CampaignState, kind: str, text: str, step: int | None = None) -> CampaignState:
    at = state.current_step if step is None else step
    return replace(state, milestones=(*state.milestones, Milestone(at, kind, text)))


def _check_levels(levels: Mapping[str, int]) -> dict[str, int]:
    bad = {s: lv for s, lv in levels.items() if lv < 0}
    if bad:
        raise ValueError(f"skill levels must be >= 0, got {bad}")
    return dict(levels)


def new_campaign(
    campaign_id: str,
    hero_id: str,
    start_checkpoint: str | None = None,
    start_step: int = 0,
    skill_levels: Mapping[str, int] | None = None,
) -> CampaignState:
    """A fresh, active campaign (from a checkpoint when ``start_checkpoint`` is given)."""
    if not campaign_id or not hero_id:
        raise ValueError("a campaign needs a non-empty id and hero id")
    if start_step < 0:
        raise ValueError(f"start_step must be >= 0, got {start_step}")
    levels = _check_levels(skill_levels or {})
    state = CampaignState(
        id=campaign_id,
        hero_id=hero_id,
        start_checkpoint=start_checkpoint,
        start_step=start_step,
        current_step=start_step,
        skill_levels=levels,
        peaks=Peaks(peak_skill_levels=dict(levels)),
    )
    origin = f"from {start_checkpoint}" if start_checkpoint else "from a fresh hero"
    return _milestone(state, "started", f"Campaign {campaign_id} begins with {hero_id} {origin}.")


def new_game_plus(
    from_campaign: CampaignState,
    checkpoint: str,
    new_hero_id: str,
    campaign_id: str,
    start_step: int = 0,
    skill_levels: Mapping[str, int] | None = None,
) -> CampaignState:
    """A new campaign continuing from ``checkpoint`` of a campaign that is no longer active.

    Skill levels carry over from ``from_campaign`` unless ``skill_levels`` is given.
    """
    if from_campaign.status is CampaignStatus.ACTIVE:
        raise ValueError(
            f"Campaign {from_campaign.id!r} is still active: pause, archive or max it out before New Game+."
        )
    if not checkpoint:
        raise ValueError("New Game+ needs a checkpoint to start from")
    if campaign_id == from_campaign.id:
        raise ValueError(f"New Game+ needs a new campaign id, not {campaign_id!r} again")
    levels = from_campaign.skill_levels if skill_levels is None else skill_levels
    state = new_campaign(campaign_id, new_hero_id, checkpoint, start_step, levels)
    state = replace(state, new_game_plus_of=from_campaign.id)
    return _milestone(state, "new_game_plus", f"New Game+ of {from_campaign.id}.")


def record_step(
    state: CampaignState, step: int, loss: float, strain_by_skill: Mapping[str, float] | None = None
) -> CampaignState:
    """Advance to ``step`` with its training loss and the strain it put on each skill.

    Steps must move forward. A non-finite loss advances the step but changes no peak; negative
    or non-finite strain adds no effort.
    """
    _require_not_archived(state, "train")
    if step <= state.current_step:
        raise ValueError(f"step {step} does not advance campaign {state.id!r} (at step {state.current_step})")
    finite = math.isfinite(loss)
    peaks = state.peaks
    if finite and (peaks.lowest_loss is None or loss < peaks.lowest_loss):
        peaks = replace(peaks, lowest_loss=loss, lowest_loss_step=step)
    effort = dict(state.effort_per_skill)
    marks = dict(state.level_marks)
    for skill, strain in (strain_by_skill or {}).items():
        if skill not in marks:
            marks[skill] = LevelMark(state.current_step, effort.get(skill, 0.0), loss if finite else None)
        if math.isfinite(strain) and strain > 0:
            effort[skill] = effort.get(skill, 0.0) + strain
        else:
            effort.setdefault(skill, 0.0)
    return replace(
        state,
        current_step=step,
        peaks=peaks,
        effort_per_skill=effort,
        level_marks=marks,
        last_loss=loss if finite else state.last_loss,
    )


def record_eval(state: CampaignState, skill: str, level: int, accuracy: float) -> CampaignState:
    """Note an eval result for the peaks. Non-finite accuracies are ignored."""
    _require_not_archived(state, "record an eval")
    if level < 1:
        raise ValueError(f"eval level must be >= 1, got {level}")
    if not math.isfinite(accuracy):
        return state
    if not 0.0 <= accuracy <= 1.0:
        raise ValueError(f"accuracy must be in [0, 1], got {accuracy!r}")
    best = state.peaks.highest_accuracy
    if best is not None and accuracy <= best:
        return state
    return replace(state, peaks=replace(state.peaks, highest_accuracy=accuracy, highest_accuracy_at=(skill, level)))


def record_level_change(state: CampaignState, skill: str, to_level: int, step: int | None = None) -> CampaignState:
    """Set the mastered level of ``skill`` and record the transition (effort, plastic gain).

    ``step`` defaults to the current step. The transition is the new last entry of ``transitions``.
    """
    _require_not_archived(state, "change skill levels")
    at = state.current_step if step is None else step
    if at < state.start_step:
        raise ValueError(f"level change at step {at} is before the campaign began (step {state.start_step})")
    if to_level < 0:
        raise ValueError(f"skill level must be >= 0, got {to_level}")
    from_level = state.skill_levels.get(skill, 0)
    if to_level == from_level:
        raise ValueError(f"{skill} is already at level {to_level}")
    effort_now = state.effort_per_skill.get(skill, 0.0)
    start = state.level_marks.get(skill, LevelMark(state.start_step, 0.0, None))
    record = transition_record(skill, from_level, to_level, start, at, effort_now, state.last_loss)
    peak_levels = dict(state.peaks.peak_skill_levels)
    peak_levels[skill] = max(peak_levels.get(skill, 0), to_level)
    state = replace(
        state,
        skill_levels={**state.skill_levels, skill: to_level},
        peaks=replace(state.peaks, peak_skill_levels=peak_levels),
        level_marks={**state.level_marks, skill: LevelMark(at, effort_now, state.last_loss)},
        transitions=(*state.transitions, record),
    )
    verb = "masters" if to_level > from_level else "drops to"
    return _milestone(
        state, "level_up" if to_level > from_level else "level_down", f"{skill} {verb} level {to_level}.", at
    )


def add_milestone(state: CampaignState, kind: str, text: str, step: int | None = None) -> CampaignState:
    """Append a milestone (at the current step unless ``step`` is given)."""
    _require_not_archived(state, "add a milestone")
    return _milestone(state, kind, text, step)


def pause(state: CampaignState) -> CampaignState:
    if state.status is not CampaignStatus.ACTIVE:
        raise ValueError(f"Campaign {state.id!r} is {state.status.value}: only an active campaign can pause.")
    return _milestone(replace(state, status=CampaignStatus.PAUSED), "paused", "Campaign paused.")


def resume(state: CampaignState) -> CampaignState:
    """Paused → active, or maxed out → active when the player chooses to push on."""
    if state.status not in (CampaignStatus.PAUSED, CampaignStatus.MAXED_OUT):
        raise ValueError(
            f"Campaign {state.id!r} is {state.status.value}: only a paused or maxed-out campaign can resume."
        )
    return _milestone(replace(state, status=CampaignStatus.ACTIVE), "resumed", "Campaign resumed.")


def mark_maxed_out(state: CampaignState, reason: str) -> CampaignState:
    """The hero found its level cap: record why; the player then archives or starts New Game+."""
    if state.status not in (CampaignStatus.ACTIVE, CampaignStatus.PAUSED):
        raise ValueError(f"Campaign {state.id!r} is {state.status.value}: cannot mark it maxed out.")
    state = replace(state, status=CampaignStatus.MAXED_OUT, maxed_out_reason=reason)
    return _milestone(state, "maxed_out", f"Level cap found: {reason}")


def archive(state: CampaignState) -> CampaignState:
    """Close the campaign for good (its record stays readable)."""
    _require_not_archived(state, "archive it again")
    return _milestone(replace(state, status=CampaignStatus.ARCHIVED), "archived", "Campaign archived.")
