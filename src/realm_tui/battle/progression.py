"""Parent side of skill growth: eval results → level-ups, regressions, maxed-out, blessings, champion.

The trainer only measures; every decision is made here with the pure `rules/`, and recorded in
the store. The curriculum the trainer follows is rebuilt from the campaign after each change.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from realm_tui.battle.plateau_watch import PlateauWatch
from realm_tui.config.curriculum import CurriculumConfig, StopWhenConfig
from realm_tui.contract.protocol import EvalResult
from realm_tui.rules import (
    ChampionCandidate,
    RegressionEvent,
    StepMix,
    check_maxed_out,
    choose_champion,
    decide_level_up,
    detect_regressions,
    maintenance_over_window,
    training_level,
)
from realm_tui.rules.notifications import Notification, maxed_out, new_champion, regression, skill_level_up
from realm_tui.rules.plateau import PlateauVerdict, plateau_notification
from realm_tui.rules.progression import ProgressEvent, RecoveryEvent, has_joined, transition_from_record
from realm_tui.rules.rewards import campaign_gold
from realm_tui.rules.temple import DATA_VALID, EVAL_RAN, RELOADS, WEIGHTS_FINITE, RitualResult, accuracy_trend, bless
from realm_tui.skills.versions import data_version, is_current
from realm_tui.store import CampaignRecord, CheckpointRecord, EvalRecord, Store

RETEST_EVERY = 3
"""Every third eval at a training level re-tests the skill's mastered levels."""
REVIEW_BOOST = 0.15
"""Extra review share per regressed level under maintenance (capped by MAX_REVIEW_SHARE)."""
MAX_REVIEW_SHARE = 0.6


def review_share_with_maintenance(base: float, levels_under_maintenance: int) -> float:
    """The review share sent to the trainer: the configured share plus REVIEW_BOOST per regressed
    level, the boost capped at MAX_REVIEW_SHARE (a configured share above the cap is kept as is)."""
    if levels_under_maintenance <= 0:
        return base
    return max(base, min(MAX_REVIEW_SHARE, base + REVIEW_BOOST * levels_under_maintenance))


def with_gold(campaign: CampaignRecord, **changes: Any) -> dict[str, Any]:
    """`changes` to a campaign record plus its gold, `rules.rewards.campaign_gold` of the changed
    record: the one place the stored gold is written (a quest finished, a skill level gained)."""
    return {**changes, "gold": campaign_gold(campaign.model_copy(update=changes))}


@dataclass(frozen=True)
class SkillRule:
    """What the keeper needs of a skill config."""

    max_level: int
    threshold: float = 0.8
    min_evals: int = 3


@dataclass
class Outcome:
    notifications: list[Notification] = field(default_factory=list)
    curriculum_changed: bool = False
    retests: list[tuple[str, int]] = field(default_factory=list)
    plateau: PlateauVerdict | None = None
    """Set once, when a `--stop-when plateau` battle reached its plateau: the battle stops."""


class ProgressionKeeper:
    """Keeps one campaign's skill levels in step with its eval results."""

    def __init__(
        self,
        store: Store,
        campaign_id: str,
        skills: Mapping[str, SkillRule],
        curriculum: CurriculumConfig,
        stop_when: StopWhenConfig | None = None,
    ) -> None:
        self.store = store
        self.campaign_id = campaign_id
        self.skills = {
            sid: rule
            for sid, rule in skills.items()
            if curriculum.skills.get(sid) is None or curriculum.skills[sid].enabled
        }
        self.curriculum = curriculum
        self._mixes: list[StepMix] = []
        self._evals_since_retest: dict[str, int] = {}
        stop = stop_when or curriculum.stop_when
        self.plateau = PlateauWatch(stop.plateau_evals) if stop.rule == "plateau" else None
        """This battle's plateau stop rule (None: the battle ends at its steps)."""

    # ------------------------------------------------------------ curriculum

    def campaign(self) -> CampaignRecord:
        return self.store.campaigns.require(self.campaign_id)

    def maintenance_levels(self) -> dict[str, list[int]]:
        """Mastered levels whose latest re-test regressed and has not recovered since."""
        open_: dict[tuple[str, int], bool] = {}
        for milestone in self.campaign().milestones:
            if milestone.get("kind") == "regression":
                open_[(milestone["skill"], milestone["level"])] = True
            elif milestone.get("kind") == "recovered":
                open_[(milestone["skill"], milestone["level"])] = False
        out: dict[str, list[int]] = {}
        for (skill, level), is_open in sorted(open_.items()):
            if is_open:
                out.setdefault(skill, []).append(level)
        return out

    def curriculum_payload(self) -> dict[str, Any]:
        """The curriculum the trainer follows (TrainJob.curriculum / SetCurriculum)."""
        campaign = self.campaign()
        maintenance = self.maintenance_levels()
        review_share = review_share_with_maintenance(
            self.curriculum.review_share, sum(len(v) for v in maintenance.values())
        )
        skills: dict[str, Any] = {}
        for sid, rule in self.joined_skills(campaign).items():
            mastered = campaign.skill_levels.get(sid, 0)
            weight = self.curriculum.skills[sid].weight if sid in self.curriculum.skills else 1.0
            skills[sid] = {
                "level": training_level(mastered, rule.max_level),
                "mastered": mastered,
                "weight": weight,
                "review_levels": list(range(1, mastered + 1)),
                "maintenance_levels": maintenance.get(sid, []),
            }
        return {
            "strategy": self.curriculum.strategy,
            "focus_skill": self.curriculum.focus_skill,
            "quest_share": self.curriculum.quest_share,
            "review_share": review_share,
            "skills": skills,
        }

    def joined_skills(self, campaign: CampaignRecord | None = None) -> dict[str, SkillRule]:
        """The enabled skills that take part now: those with a `joins_after` wait only once every
        skill it names has mastered its level (`rules.progression.has_joined`)."""
        levels = (campaign or self.campaign()).skill_levels
        return {sid: rule for sid, rule in self.skills.items() if has_joined(self.curriculum.waits_for(sid), levels)}

    def record_steps(self, step: int, steps: int) -> None:
        """Account `steps` optimizer steps to review vs new-level work, per the current curriculum.

        Review only happens when some skill has a level to review: with nothing mastered the
        trainer's mixer gives the whole skill share to new levels (`skills.curriculum`), and so
        does this account (a fresh campaign must not look like it is all maintenance)."""
        payload = self.curriculum_payload()
        reviewable = any(s["review_levels"] or s["maintenance_levels"] for s in payload["skills"].values())
        share = payload["review_share"] if reviewable else 0.0
        self._mixes.append(StepMix(step=step, review=steps * share, new_level=steps * (1 - share)))
        if len(self._mixes) > 10_000:
            self._mixes = self._mixes[-5_000:]

    # ------------------------------------------------------------ evals

    def on_eval(self, event: EvalResult, effort: float, loss: float | None = None) -> Outcome:
        """Record an eval and judge it; `loss` is the training-loss EMA now (kept with a level-up:
        it is the comfort floor of the next level's strain)."""
        out = Outcome()
        self.store.evals.upsert(
            EvalRecord(
                campaign_id=self.campaign_id,
                step=max(0, event.step),
                skill=event.skill,
                level=event.level,
                accuracy=min(1.0, max(0.0, event.accuracy)),
                total=event.total,
                results=[dict(r) for r in event.results],
                data_version=data_version(event.skill),
            )
        )
        rule = self.skills.get(event.skill)
        if rule is None:
            return out
        campaign = self.campaign()
        mastered = campaign.skill_levels.get(event.skill, 0)
        if event.level == training_level(mastered, rule.max_level) and event.level > mastered:
            self._judge_training_level(event, rule, mastered, effort, out, loss)
        elif event.level <= mastered:
            self._judge_retest(event, out)
        self._check_maxed_out(max(0, event.step), out)
        self._check_plateau(max(0, event.step), out)
        return out

    def _judge_training_level(
        self, event: EvalResult, rule: SkillRule, mastered: int, effort: float, out: Outcome, loss: float | None
    ) -> None:
        # Only evals graded by today's generator count: an older version's problems or answers differ.
        records = self.store.evals.for_skill(self.campaign_id, event.skill, event.level)
        history = [e.accuracy for e in records if is_current(e)]
        decision = decide_level_up(history, threshold=rule.threshold, min_evals=rule.min_evals)
        # Every RETEST_EVERY-th eval at the training level re-tests the mastered levels, the eval
        # that levels up included: a hero that masters each level in three evals is re-tested too
        # (at each level-up, so a level-up that cost an older level is seen right away).
        count = self._evals_since_retest.get(event.skill, 0) + 1
        retest_due = count >= RETEST_EVERY
        self._evals_since_retest[event.skill] = 0 if retest_due else count
        if retest_due and mastered > 0:
            # Re-test the most recent mastered levels: that is where forgetting shows first.
            out.retests += [(event.skill, lvl) for lvl in range(mastered, max(0, mastered - 3), -1)]
        if self.plateau is not None:
            self.plateau.record(event.skill, event.level, event.accuracy)
        if decision.level_up and decision.mean is not None:
            if self.plateau is not None:
                self.plateau.level_up(event.skill)
            out.notifications.append(
                self.record_level_up(
                    event.skill, event.level, accuracy=decision.mean, step=event.step, effort=effort, loss=loss
                )
            )
            out.curriculum_changed = True
            # The new level gets RETEST_EVERY evals of training before its old levels are re-tested:
            # evals counted at the previous level must not trigger a re-test right after the switch.
            self._evals_since_retest[event.skill] = 0

    def record_level_up(
        self, skill: str, level: int, *, accuracy: float, step: int, effort: float, loss: float | None = None
    ) -> Notification:
        """Record that `skill` mastered `level` at `step` with `accuracy` (the mean that passed).

        The one place a level-up is written: mastered level, transition (the accuracy at mastery
        that later re-tests are judged against), peak level and the gold reward."""
        campaign = self.campaign()
        mastered = campaign.skill_levels.get(skill, 0)
        if level <= mastered:
            raise ValueError(f"{skill} has already mastered level {mastered}: cannot level up to {level}")
        transition = {
            "skill": skill,
            "from": mastered,
            "to": level,
            "step": step,
            "accuracy": accuracy,
            "effort": effort,
            "loss": loss if loss is not None and math.isfinite(loss) else None,
            "at": time.time(),
        }
        peaks = dict(campaign.peaks)
        peaks[f"{skill}_level"] = max(int(peaks.get(f"{skill}_level", 0)), level)
        self.store.campaigns.update(
            self.campaign_id,
            **with_gold(
                campaign,
                skill_levels={**campaign.skill_levels, skill: level},
                transitions=[*campaign.transitions, transition],
                peaks=peaks,
                updated_at=time.time(),
            ),
        )
        return skill_level_up(skill, level)

    def mastery_losses(self) -> list[float | None]:
        """Training-loss EMA at each level-up, oldest first (`rules.strain.comfort_floor`)."""
        return [t.get("loss") for t in self.campaign().transitions]

    def thresholds(self) -> dict[str, float]:
        """Accuracy each trained skill needs at its training level to level up."""
        return {sid: rule.threshold for sid, rule in self.joined_skills().items()}

    def mastery_accuracy(self, skill: str) -> dict[int, float]:
        return {
            int(t["to"]): float(t["accuracy"])
            for t in self.campaign().transitions
            if t.get("skill") == skill and t.get("accuracy") is not None
        }

    def _judge_retest(self, event: EvalResult, out: Outcome) -> None:
        mastery = self.mastery_accuracy(event.skill)
        if event.level not in mastery:
            return
        found = detect_regressions(
            {event.level: mastery[event.level]}, {event.level: event.accuracy}, skill=event.skill
        )
        open_levels = self.maintenance_levels().get(event.skill, [])
        campaign = self.campaign()
        if found:
            if event.level not in open_levels:
                milestone = {
                    "kind": "regression",
                    "skill": event.skill,
                    "level": event.level,
                    "step": event.step,
                    "accuracy": found[0].latest_accuracy,
                    "mastery_accuracy": found[0].mastery_accuracy,
                }
                self.store.campaigns.update(self.campaign_id, milestones=[*campaign.milestones, milestone])
                out.notifications.append(regression(found[0]))
                out.curriculum_changed = True
        elif event.level in open_levels:
            milestone = {
                "kind": "recovered",
                "skill": event.skill,
                "level": event.level,
                "step": event.step,
                "accuracy": event.accuracy,
            }
            self.store.campaigns.update(self.campaign_id, milestones=[*campaign.milestones, milestone])
            out.curriculum_changed = True

    def _check_maxed_out(self, step: int, out: Outcome) -> None:
        campaign = self.campaign()
        if campaign.status == "maxed_out":
            return
        events: list[ProgressEvent] = [transition_from_record(t) for t in campaign.transitions]
        for m in campaign.milestones:  # in recorded order: a recovery follows its regression
            if m.get("kind") == "regression":
                events.append(RegressionEvent(int(m["step"]), m["skill"], int(m["level"])))
            elif m.get("kind") == "recovered":
                events.append(RecoveryEvent(int(m["step"]), m["skill"], int(m["level"])))
        events.sort(key=lambda e: e.step)
        cap = self.curriculum.level_cap
        _, review, new = maintenance_over_window(self._mixes, cap.window_steps)
        verdict = check_maxed_out(
            events,
            review,
            new,
            limit=cap.maintenance_limit,
            costly_limit=cap.costly_level_ups,
            min_window_steps=cap.min_window_steps,
        )
        if verdict.maxed_out:
            milestone = {
                "kind": "maxed_out",
                "reason": verdict.reason,
                "step": step,
                "multiplier": verdict.multiplier if math.isfinite(verdict.multiplier) else None,
                "costly_level_ups": verdict.costly_level_ups,
            }
            self.store.campaigns.update(
                self.campaign_id, status="maxed_out", milestones=[*campaign.milestones, milestone]
            )
            note = maxed_out(verdict)
            if note is not None:
                out.notifications.append(note)

    def _check_plateau(self, step: int, out: Outcome) -> None:
        """A `plateau` battle whose trained skills all stopped improving: the campaign's milestone
        says so (`realm campaign show`), and the conductor stops the battle."""
        if self.plateau is None:
            return
        campaign = self.campaign()
        trained = {s for s, r in self.joined_skills(campaign).items() if campaign.skill_levels.get(s, 0) < r.max_level}
        verdict = self.plateau.verdict(trained)
        if verdict is None:
            return
        milestone = {"kind": "plateau", "reason": verdict.reason, "step": step, "evals": self.plateau.patience}
        self.store.campaigns.update(self.campaign_id, milestones=[*campaign.milestones, milestone])
        out.plateau = verdict
        out.notifications.append(plateau_notification(verdict))

    # ------------------------------------------------------------ temple and champion

    def mastered_at(self, step: int, *, before: bool = False, campaign: CampaignRecord | None = None) -> dict[str, int]:
        """Mastered level per skill as of `step`, from the campaign's level transitions.

        A level-up at `step` counts unless `before` (the eval that levelled up ran at the training
        level before the transition). A skill with no transition keeps its stored level (a campaign
        may start with levels, e.g. New Game+)."""
        campaign = campaign or self.campaign()
        changes: dict[str, list[tuple[int, int, int]]] = {}
        for t in campaign.transitions:
            if t.get("skill") is not None and t.get("to") is not None:
                changes.setdefault(str(t["skill"]), []).append((int(t["step"]), int(t.get("from") or 0), int(t["to"])))
        out = {skill: int(level) for skill, level in campaign.skill_levels.items()}
        for skill, moves in changes.items():
            moves.sort(key=lambda m: m[0])  # stable: same-step moves keep their recorded order
            done = [m for m in moves if (m[0] < step if before else m[0] <= step)]
            out[skill] = done[-1][2] if done else moves[0][1]
        return out

    def accuracy_at(self, step: int, *, campaign: CampaignRecord | None = None) -> dict[str, float]:
        """Latest eval accuracy per skill as of `step`, at the skill's training level when that eval
        ran (DESIGN §6 ACC): re-tests of mastered levels, which run at the same step right after
        the training-level eval, do not count."""
        campaign = campaign or self.campaign()
        training: dict[int, dict[str, int]] = {}
        latest: dict[str, tuple[int, float]] = {}
        for record in self.store.evals.for_campaign(self.campaign_id):
            rule = self.skills.get(record.skill)
            if record.step > step or rule is None:
                continue
            if record.step not in training:
                training[record.step] = self.mastered_at(record.step, before=True, campaign=campaign)
            if record.level != training_level(training[record.step].get(record.skill, 0), rule.max_level):
                continue
            prev = latest.get(record.skill)
            if prev is None or record.step >= prev[0]:
                latest[record.skill] = (record.step, record.accuracy)
        return {skill: acc for skill, (_, acc) in latest.items()}

    def bless_checkpoint(self, record: CheckpointRecord, *, effort: float, verified: bool) -> list[Notification]:
        """Run the temple rituals on a committed checkpoint, record the verdict, re-crown the champion.

        A campaign with no skill to evaluate (quest data only) has no accuracy to judge by: its
        checkpoints stay unjudged (blessing None) and only the player can promote a champion.
        """
        if not self.skills:
            self.store.ledger.update(
                record.name, notes={**record.notes, "blessing_reason": "unjudged: no skill is trained"}
            )
            return []
        accuracy = self.accuracy_at(record.step)
        evals_here = [e for e in self.store.evals.for_campaign(self.campaign_id) if e.step == record.step]
        previous = [r for r in self.store.ledger.by_campaign(self.campaign_id) if r.step < record.step]
        before = self.accuracy_at(previous[-1].step) if previous else {}
        mean_now = sum(accuracy.values()) / len(accuracy) if accuracy else None
        mean_before = sum(before.values()) / len(before) if before else None
        rituals = [
            RitualResult(WEIGHTS_FINITE, True, "checked by the trainer before saving"),
            RitualResult(RELOADS, verified, "manifest checksums verified"),
            RitualResult(EVAL_RAN, bool(evals_here)),
            RitualResult(DATA_VALID, True, "quest validated before training"),
        ]
        blessing = bless(rituals, accuracy, accuracy_trend(mean_before, mean_now), max(0.0, effort))
        self.store.ledger.update(
            record.name,
            blessing=blessing.verdict.value,
            quality=blessing.quality,
            notes={**record.notes, "experience": blessing.experience, "blessing_reason": blessing.reason},
        )
        return self._crown()

    def _crown(self) -> list[Notification]:
        records = self.store.ledger.by_campaign(self.campaign_id)
        campaign = self.campaign()
        candidates = []
        for r in records:
            acc = self.accuracy_at(r.step, campaign=campaign)
            mean = sum(acc.values()) / len(acc) if acc else None
            mastered = sum(self.mastered_at(r.step, campaign=campaign).values())
            candidates.append(ChampionCandidate(r.name, r.step, r.blessing, mean, r.val_loss, mastered))
        best = choose_champion(candidates)
        current = self.store.ledger.champion(self.campaign_id)
        if best is None or (current is not None and current.name == best.name):
            return []
        self.store.ledger.set_champion(best.name)
        return [new_champion(best.name, best.step, best.accuracy)]
