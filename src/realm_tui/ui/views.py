"""Converters from stored records (and the live battle) to what the Tavern and Guild show.

Pure functions over configs and the records `services.records` reads (elia's converter layer):
no store access, no textual, no torch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from realm_tui.config.realm_config import DEFAULT_HERO, RealmConfigs
from realm_tui.rules import (
    ACHIEVEMENTS,
    HeroStats,
    LevelDecision,
    PrimitiveTracker,
    RegressionEvent,
    TaggedResult,
    TitleContext,
    best_title,
    check_maxed_out,
    compute_stats,
    skills_for,
    training_level,
)
from realm_tui.rules.answers import EvalAnswers
from realm_tui.rules.primitives import PRIMITIVES
from realm_tui.rules.progression import ProgressEvent, RecoveryEvent, transition_from_record
from realm_tui.rules.rewards import levels_gained
from realm_tui.services.hero_answers import answers_by_level
from realm_tui.services.records import CampaignProgress
from realm_tui.services.standings import skill_standings
from realm_tui.skills.versions import old_version_levels, old_version_note
from realm_tui.store import CampaignRecord, EvalRecord, EventRecord
from realm_tui.ui.models import BattleSnapshot, LogLine


@dataclass(frozen=True)
class HeroSheet:
    """The Tavern's hero card."""

    hero_id: str
    name: str
    description: str
    portrait: str
    title: str
    stats: HeroStats
    steps_per_level: int
    campaign_id: str | None
    campaign_status: str
    skill_levels: dict[str, int] = field(default_factory=dict)


def _max_level(configs: RealmConfigs, skill: str) -> int:
    cfg = configs.skills.get(skill)
    return int(getattr(cfg, "max_level", 1_000_000))


def latest_accuracy_by_skill(
    configs: RealmConfigs, evals: Sequence[EvalRecord], skill_levels: dict[str, int]
) -> dict[str, float | None]:
    """Per configured skill: the latest eval accuracy at its training level (None: no eval yet)."""
    out: dict[str, float | None] = {}
    for skill in configs.skills or {e.skill for e in evals}:
        level = training_level(skill_levels.get(skill, 0), _max_level(configs, skill))
        at_level = [e for e in evals if e.skill == skill and e.level == level]
        out[skill] = at_level[-1].accuracy if at_level else None
    return out


def build_hero_sheet(
    configs: RealmConfigs, progress: CampaignProgress, live: BattleSnapshot | None = None
) -> HeroSheet:
    """The hero card from the campaign's records; a running battle's step and loss take precedence."""
    campaign = progress.campaign
    hid = campaign.hero_id if campaign else DEFAULT_HERO
    hero = configs.heroes.get(hid) or next(iter(configs.heroes.values()))
    levels = dict(campaign.skill_levels) if campaign else {}
    evals = progress.evals
    latest = progress.latest
    steps = campaign.current_step if campaign else 0
    loss_ema = latest.train_loss if latest else None
    val_loss = latest.val_loss if latest else None
    if live is not None and campaign is not None and live.campaign_id == campaign.id:
        steps = live.step
        loss_ema = live.loss_ema if live.loss_ema is not None else loss_ema
        val_loss = live.val_loss if live.val_loss is not None else val_loss
    stats = compute_stats(
        steps=max(0, steps),
        train_loss_ema=loss_ema,
        val_loss=val_loss,
        latest_accuracy_by_skill=latest_accuracy_by_skill(configs, evals, levels),
        quests_completed=campaign.quests_completed if campaign else 0,
        skill_levels_gained=levels_gained(campaign.transitions) if campaign else 0,
        steps_per_level=hero.steps_per_level,
    )
    context = TitleContext(
        level=stats.level,
        steps=stats.xp,
        skill_levels=levels,
        accuracy=stats.acc if evals else None,
        achievements=set(progress.unlocked),
    )
    title = best_title(configs.titles.titles, context) or "Nameless"
    return HeroSheet(
        hero_id=hero.id,
        name=hero.name,
        description=hero.description,
        portrait=(hero.portrait or "").rstrip("\n"),
        title=title,
        stats=stats,
        steps_per_level=hero.steps_per_level,
        campaign_id=campaign.id if campaign else None,
        campaign_status=campaign.status if campaign else "none",
        skill_levels=levels,
    )


# ---------------------------------------------------------------- guild


@dataclass(frozen=True)
class SkillView:
    skill: str
    name: str
    icon: str
    mastered: int
    training_level: int
    max_level: int
    decision: LevelDecision
    history: tuple[float, ...]
    """Accuracies of every eval of the skill, oldest first (the sparkline)."""
    effort: float
    old_version_note: str = ""
    """Set when some of the skill's eval history comes from an older generator version
    (`skills.versions`): that history is shown but not counted for level-ups."""


@dataclass(frozen=True)
class WeakPrimitive:
    primitive: str
    description: str
    accuracy: float
    samples: int
    skills: tuple[str, ...]


@dataclass(frozen=True)
class AchievementView:
    id: str
    name: str
    description: str
    unlocked: bool


@dataclass(frozen=True)
class GuildView:
    campaign_id: str | None
    skills: tuple[SkillView, ...]
    primitives: tuple[tuple[str, float, int], ...]
    """(primitive, accuracy, samples), weakest first."""
    weak: tuple[WeakPrimitive, ...]
    achievements: tuple[AchievementView, ...]
    titles: tuple[tuple[str, str, bool], ...]
    """(name, description, held now) by priority, highest first."""
    peaks: dict[str, Any]
    effort_total: float
    verdict: str
    maxed_out: bool
    transitions: tuple[str, ...]
    answers: tuple[EvalAnswers, ...] = ()
    """The last answers of each skill level (its newest eval, wrong ones first)."""


def _tagged(evals: Sequence[EvalRecord]) -> list[TaggedResult]:
    out = []
    for record in evals:
        for result in record.results:
            prims = result.get("primitives") or []
            if isinstance(prims, list) and "correct" in result:
                out.append(TaggedResult(tuple(str(p) for p in prims), bool(result["correct"])))
    return out


def _progress_events(campaign: CampaignRecord, regressions: Sequence[EventRecord]) -> list[ProgressEvent]:
    events: list[ProgressEvent] = []
    for t in campaign.transitions:
        try:
            events.append(transition_from_record(t))
        except (KeyError, TypeError, ValueError):
            continue
    for e in regressions:
        try:
            events.append(RegressionEvent(int(e.data["step"]), str(e.data["skill"]), int(e.data["level"])))
        except (KeyError, TypeError, ValueError):
            continue
    for m in campaign.milestones:  # a recovered regression does not make its level-up costly
        if m.get("kind") == "recovered":
            try:
                events.append(RecoveryEvent(int(m["step"]), str(m["skill"]), int(m["level"])))
            except (KeyError, TypeError, ValueError):
                continue
    return events


def build_guild_view(configs: RealmConfigs, progress: CampaignProgress, hero_title: str | None = None) -> GuildView:
    """The Guild from the campaign's records, read with its regression events
    (`read_progress(..., regressions=True)`: the level-cap verdict counts them)."""
    campaign = progress.campaign
    evals = progress.evals
    levels = dict(campaign.skill_levels) if campaign else {}
    effort = dict(campaign.effort) if campaign else {}
    skills = []
    for standing in sorted(skill_standings(configs, levels, evals), key=lambda s: s.skill):
        skill_id, cfg = standing.skill, standing.config
        history = tuple(e.accuracy for e in evals if e.skill == skill_id)
        skills.append(
            SkillView(
                skill=skill_id,
                name=cfg.rpg_name,
                icon=cfg.icon,
                mastered=standing.mastered,
                training_level=standing.training_level,
                max_level=cfg.max_level,
                decision=standing.decision,
                history=history,
                effort=float(effort.get(skill_id, 0.0)),
                old_version_note=old_version_note(old_version_levels(evals, skill_id), skill_id),
            )
        )
    tracker = PrimitiveTracker().record_all(_tagged(evals))
    profile = sorted(
        ((p, s.correct / s.samples, s.samples) for p, s in tracker.stats.items() if s.samples),
        key=lambda row: (row[1], row[0]),
    )
    skill_prims = {sid: tuple(getattr(cfg, "primitives", ())) for sid, cfg in configs.skills.items()}
    weak = tuple(
        WeakPrimitive(
            p,
            PRIMITIVES.get(p, ""),
            tracker.accuracy(p) or 0.0,
            tracker.samples(p),
            tuple(skills_for(p, skill_prims)),
        )
        for p in tracker.weak_primitives()
    )
    achievements = tuple(
        AchievementView(a.id, a.name, a.description, a.id in progress.unlocked) for a in ACHIEVEMENTS.values()
    )
    titles = tuple((t.name, t.description, t.name == hero_title) for t in configs.titles.by_priority())
    if campaign is None:
        verdict, maxed = "No campaign yet: start a battle in the Tavern.", False
    elif campaign.status == "maxed_out":
        verdict, maxed = "Maxed out: archive the campaign or start New Game+.", True
    else:
        cap = configs.curriculum.level_cap  # the Guild previews the streak rule; the keeper owns the window
        v = check_maxed_out(
            _progress_events(campaign, progress.regressions),
            review_steps=0.0,
            new_level_steps=0.0,
            limit=cap.maintenance_limit,
            costly_limit=cap.costly_level_ups,
        )
        verdict, maxed = v.reason, v.maxed_out
    transitions = tuple(_transition_text(t) for t in (campaign.transitions if campaign else [])[-5:])
    return GuildView(
        campaign_id=campaign.id if campaign else None,
        skills=tuple(skills),
        primitives=tuple(profile),
        weak=weak,
        achievements=achievements,
        titles=titles,
        peaks=dict(campaign.peaks) if campaign else {},
        effort_total=float(sum(effort.values())),
        verdict=verdict,
        maxed_out=maxed,
        transitions=transitions,
        answers=tuple(answers_by_level(evals)),
    )


def _transition_text(t: dict[str, Any]) -> str:
    skill = str(t.get("skill", "?")).upper()
    start, end = t.get("from", t.get("from_level", "?")), t.get("to", t.get("to_level", "?"))
    text = f"{skill} {start}→{end} at step {t.get('step', '?')}"
    eff = t.get("efficiency")
    if isinstance(eff, int | float) and math.isfinite(eff):
        text += f" · efficiency {eff:.3f}"
    return text


# ---------------------------------------------------------------- log


def log_line(event: EventRecord) -> LogLine:
    """A stored event as a battle-log line (the log starts with the campaign's recent history)."""
    d = event.data
    kind, text = "event", f"{event.kind.replace('_', ' ')}"
    if event.kind == "level_up":
        kind, text = "level", f"✨ hero level {d.get('level', '?')} at step {d.get('step', '?')}"
    elif event.kind == "quest_complete":
        text = f"🏁 quest {d.get('quest', '?')} complete after {d.get('steps', '?')} steps"
    elif event.kind == "stopped":
        text = f"■ battle stopped at step {d.get('step', '?')} ({d.get('reason', '?')})"
    elif event.kind == "error":
        lines = str(d.get("message") or "error").strip().splitlines() or ["error"]
        kind, text = "error", lines[-1]
    elif "title" in d:
        kind = "level" if "level" in event.kind else "note"
        text = f"{d.get('title')}: {d.get('body', '')}"
    return LogLine(kind, text, event.at)
