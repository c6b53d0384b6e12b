"""Before a battle: choose hero, campaign, quest and resume point, and build the TrainJob."""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from realm_tui.battle.checkpoint_health import adopt_orphans, resume_point
from realm_tui.battle.path_choice import battle_path, configs_on_path, path_notes, path_optimizer_args
from realm_tui.battle.preflight import check_battle_knobs
from realm_tui.battle.progression import ProgressionKeeper, SkillRule
from realm_tui.battle.school_options import check_teacher_folder, hero_teacher_folder, teacher_hero
from realm_tui.config.curriculum import StopWhenConfig
from realm_tui.config.hero import HeroConfig
from realm_tui.config.realm_config import DEFAULT_HERO, RealmConfigs
from realm_tui.contract.protocol import TrainJob
from realm_tui.contract.school_options import oracle_settings, school_learning_rate, school_settings
from realm_tui.errors import InputError
from realm_tui.paths import RealmPaths
from realm_tui.quests.board import board_for
from realm_tui.quests.compose import InstalledModule, installed_modules, modules_payload
from realm_tui.quests.forge import forge_for_idle
from realm_tui.quests.preference_data import require_valid_preferences
from realm_tui.quests.validate import require_trainable_quest
from realm_tui.rules.rewards import hero_level, steps_to_next_level
from realm_tui.skills.curriculum import has_skills, module_slots
from realm_tui.store import CampaignRecord, CheckpointRecord, Store

SKILLS_QUEST = "skills"
"""Quest id of a battle fought on generated skill data only."""


@dataclass(frozen=True)
class BattlePlan:
    job: TrainJob
    hero: HeroConfig
    campaign: CampaignRecord
    quest_id: str
    quest_path: Path | None
    """None: a skills-only battle on generated data (nothing queued and nothing to forge)."""
    board_quest: bool
    """True when the quest came from the board (the conductor reports its end there)."""
    resumed_from: CheckpointRecord | None
    keeper: ProgressionKeeper
    notes: tuple[str, ...] = ()
    """What the checks at start did: orphan checkpoints adopted or removed, damaged ones passed over."""


def latest_usable_checkpoint(store: Store, realm: RealmPaths, campaign_id: str) -> CheckpointRecord | None:
    """The newest ledger record whose folder still holds a verified checkpoint (newer bad ones are
    marked damaged; see battle.checkpoint_health)."""
    return resume_point(store, realm, campaign_id)[0]


def choose_campaign(store: Store, hero_id: str | None, *, fresh: bool) -> tuple[str, CampaignRecord | None]:
    """The hero to play and its active campaign (None when a new one must start).

    Without an active campaign, a maxed-out latest one is not silently replaced by a fresh hero:
    the battle is refused (InputError) until the player archives it, starts a new campaign or
    goes New Game+; `fresh` (`realm train --fresh`) starts a new campaign anyway."""
    active = store.campaigns.active(hero_id)
    chosen_hero = hero_id or (active.hero_id if active else DEFAULT_HERO)
    if fresh:
        return chosen_hero, None
    if active is None:
        found = store.campaigns.by_hero(hero_id) if hero_id else store.campaigns.all()
        latest = max(found, key=lambda c: c.updated_at) if found else None
        if latest is not None and latest.status == "maxed_out":
            raise InputError(
                None,
                f"campaign {latest.id} ({latest.hero_id}) is maxed out: it has reached its level cap "
                f"(see `realm campaign show {latest.id}`). Archive it (`realm campaign archive {latest.id}`), "
                "start a new campaign (`realm campaign new`, or `realm train --fresh`), or continue from one "
                "of its checkpoints with New Game+ in the Vault.",
            )
        return chosen_hero, None
    return chosen_hero, active


def campaign_school(store: Store, hero_id: str | None, *, resume: bool) -> str:
    """The school the hero's active campaign follows (the Scribe for a fresh one or none)."""
    active = store.campaigns.active(hero_id) if resume else None
    return (active.school if active is not None else None) or "scribe"


def start_campaign(store: Store, hero_id: str) -> CampaignRecord:
    """A new active campaign; any other active campaign of this hero is paused."""
    for other in store.campaigns.by_hero(hero_id):
        if other.status == "active":
            store.campaigns.update(other.id, status="paused")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    campaign_id = f"{hero_id}-{stamp}"
    n = 1
    while campaign_id in store.campaigns:
        n += 1
        campaign_id = f"{hero_id}-{stamp}-{n}"
    return store.campaigns.add(CampaignRecord(id=campaign_id, hero_id=hero_id, name=f"{hero_id} campaign"))


def check_hero_files(hero: HeroConfig, realm_root: Path) -> None:
    """Refuse a hero whose folder (local, or its hub cache snapshot) cannot load or train: json and
    safetensors headers only, no torch. A hub id not downloaded yet is left to the trainer."""
    from realm_tui.armory.hero_files import hero_folder, hero_folder_problems, looks_like_path

    name = hero.model.hf_name
    if not name:
        return
    folder = hero_folder(name, realm_root)
    if folder is None:
        if looks_like_path(name):
            raise InputError(None, f"hero {hero.id}: model.hf_name {name!r} is not a folder (nor a hub id)")
        return
    problems = hero_folder_problems(folder)
    if problems:
        raise InputError(None, "\n".join(f"hero {hero.id}: {p}" for p in problems))


def choose_quest(
    realm: RealmPaths,
    store: Store,
    hero: HeroConfig,
    campaign: CampaignRecord,
    quest: Path | None,
    resumed: CheckpointRecord | None,
    trained_skills: Collection[str] | None = None,
) -> tuple[Path | None, str, bool]:
    """(path, quest id, served by the board). An explicit file bypasses the board; otherwise the
    board's next quest (forging one for the idle hero when the queue is empty); None when there
    is nothing at all, so the battle trains on generated skill data alone. Idle forging only
    forges the skills the curriculum trains now (`trained_skills`: a skill still waiting to join
    gets no quest either)."""
    if quest is not None:
        path = quest.expanduser().resolve()
        return path, path.stem, False
    board = board_for(realm, store, hero)
    board.requeue_interrupted()  # a quest left "processing" belongs to a battle that died
    board.scan()
    # The served file is checked again (schema): one edited since intake is failed for good, with
    # its report, and the next quest is taken; the trainer would otherwise end the battle on it.
    record = board.next_sound_quest()
    if record is None:
        forge_for_idle(board, hero, dict(campaign.skill_levels), only=trained_skills)
        record = board.next_sound_quest()
    if record is None:
        return None, SKILLS_QUEST, False
    record = board.mark_processing(record.id, source_checkpoint=resumed.name if resumed else None)
    return board.path_of(record), record.id, True


def make_keeper(
    configs: RealmConfigs, store: Store, campaign_id: str, stop_when: StopWhenConfig | None = None
) -> ProgressionKeeper:
    """`stop_when`: this battle's stop rule (None: curriculum.yaml's `stop_when`)."""
    rules = {
        sid: SkillRule(max_level=cfg.max_level, threshold=cfg.threshold, min_evals=cfg.min_evals)
        for sid, cfg in configs.skills.items()
    }
    return ProgressionKeeper(store, campaign_id, rules, configs.curriculum, stop_when)


def build_job(
    realm: RealmPaths,
    hero: HeroConfig,
    campaign: CampaignRecord,
    quest_path: Path | None,
    quest_id: str,
    *,
    start_step: int,
    steps: int | None,
    resume_from: Path | None,
    curriculum: dict[str, Any],
    eval_samples: int,
    memory_profile: dict[str, Any],
    school: str = "scribe",
    school_options: dict[str, Any] | None = None,
    oracle_loss: dict[str, Any] | None = None,
) -> TrainJob:
    """The job for this battle: the hero's `training_defaults` carried whole by `job_kwargs()`
    (one set of defaults: a setting added there reaches the trainer with no second list here)."""
    t = hero.training_defaults
    if steps is None:
        # An unbounded idle battle would never end headless: fight up to the next hero level.
        steps = steps_to_next_level(start_step, hero.steps_per_level)
    return TrainJob(
        realm_root=str(realm.root),
        hero_id=hero.id,
        hero=hero.model_dump(mode="json"),
        quest_paths=(str(quest_path),) if quest_path else (),
        checkpoints_dir=str(realm.checkpoints),
        campaign_id=campaign.id,
        quest_id=quest_id,
        max_steps=start_step + steps,
        **{**t.job_kwargs(), "learning_rate": school_learning_rate(school, school_options or {}, t.learning_rate)},
        resume_from=str(resume_from) if resume_from else None,
        curriculum=curriculum,
        eval_every_steps=t.eval_every_steps if curriculum.get("skills") else 0,
        eval_samples=eval_samples,
        memory_profile=memory_profile,
        school=school,
        school_options=dict(school_options or {}),
        oracle_loss=dict(oracle_loss) if oracle_loss is not None else None,
    )


def check_school_and_quest(
    realm: RealmPaths,
    configs: RealmConfigs,
    store: Store,
    *,
    hero_id: str | None,
    quest: Path | None,
    resume: bool,
    school: str,
    school_options: dict[str, Any],
    oracle_loss: dict[str, Any] | None,
) -> dict[str, Any]:
    """The school's options (a whisper teacher resolved to its folder), once the school, the Oracle
    and an explicit quest file have passed their checks (InputError); reads only, writes nothing."""
    school_options = dict(school_options)
    settings = school_settings(school, school_options)  # [armory] schools: unknown school/option → InputError
    oracle_settings(oracle_loss)
    if school == "judge" and quest is None:
        raise InputError(None, "the judge school trains on a preference quest: pass --quest FILE.jsonl")
    if school == "whisper":  # a folder, or a hero id: that hero's champion (else latest) checkpoint
        hero_teacher = teacher_hero(settings["teacher"], configs.heroes)
        teacher = hero_teacher_folder(realm.root, store, hero_teacher) if hero_teacher else settings["teacher"]
        school_options["teacher"] = str(check_teacher_folder(teacher))  # a model and a tokenizer
    if quest is not None:
        path = quest.expanduser().resolve()
        if school == "judge":
            require_valid_preferences(path)  # {"prompt", "chosen", "rejected"} lines
        else:
            # Every check the board makes, for the hero that will train (chosen read-only here);
            # a file with any invalid line is refused (see require_trainable_quest), before any write.
            require_trainable_quest(path, realm, configs.hero(choose_campaign(store, hero_id, fresh=not resume)[0]))
    return school_options


def battle_curriculum(
    configs: RealmConfigs,
    keeper: ProgressionKeeper,
    hero: HeroConfig,
    campaign: CampaignRecord,
    modules: Mapping[str, InstalledModule],
) -> dict[str, Any]:
    """The curriculum the job carries: the keeper's skills, plus the chosen module files
    (`quests.compose`) when curriculum.yaml lists modules."""
    curriculum = keeper.curriculum_payload()
    if configs.curriculum.modules:
        curriculum["modules"] = modules_payload(
            configs.curriculum,
            modules,
            hero_level=hero_level(campaign.current_step, hero.steps_per_level),
            skills_payload=curriculum["skills"],
            mastered=campaign.skill_levels,
        )
    return curriculum


def battle_quest(
    realm: RealmPaths,
    configs: RealmConfigs,
    store: Store,
    hero: HeroConfig,
    campaign: CampaignRecord,
    quest: Path | None,
    resumed: CheckpointRecord | None,
    curriculum: dict[str, Any],
) -> tuple[Path | None, str, bool]:
    """`choose_quest` for this battle, or no quest (InputError when there is nothing to train at all).

    quest_share 0 with skills or modules to train: a board quest would be served and marked done
    without one of its examples trained, so the board keeps its quests for a later battle."""
    skip_board = (
        quest is None
        and configs.curriculum.quest_share == 0
        and (has_skills(curriculum) or bool(module_slots(curriculum)))
    )
    if skip_board:
        found: tuple[Path | None, str, bool] = (None, SKILLS_QUEST, False)
    else:
        trained = set(curriculum["skills"]) or None
        found = choose_quest(realm, store, hero, campaign, quest, resumed, trained_skills=trained)
    if found[0] is None and not curriculum["skills"]:
        raise InputError(
            None,
            f"no quest to fight: the queue in {realm.quests / 'queue'} is empty and no skill is enabled "
            "in configs/curriculum.yaml. Pass --quest FILE.jsonl or drop a file into quests/inbox/.",
        )
    return found


def plan_battle(
    realm: RealmPaths,
    configs: RealmConfigs,
    store: Store,
    *,
    hero_id: str | None = None,
    quest: Path | None = None,
    steps: int | None = None,
    resume: bool = True,
    school: str | None = None,
    school_options: dict[str, Any] | None = None,
    oracle_loss: dict[str, Any] | None = None,
    path: str | None = None,
    stop_when: StopWhenConfig | None = None,
) -> BattlePlan:
    """Everything decided before the trainer starts; the quest is validated here, never mid-battle.
    `stop_when`: how this battle ends (`realm train --stop-when`; None: curriculum.yaml's).

    `path` (`technique@domain`): the path to follow from now on (None: the campaign's own, see
    `battle.path_choice`).

    `school` None: the school the campaign follows (`CampaignRecord.school`, the Armory's pick),
    else the Scribe.

    Nothing is written before the quest, the school and the hero's knobs have passed their checks."""
    followed = school is None
    school = school or campaign_school(store, hero_id, resume=resume)
    school_options = check_school_and_quest(
        realm,
        configs,
        store,
        hero_id=hero_id,
        quest=quest,
        resume=resume,
        school=school,
        school_options=dict(school_options or {}),
        oracle_loss=oracle_loss,
    )
    chosen_hero, campaign = choose_campaign(store, hero_id, fresh=not resume)
    path = battle_path(configs, store, campaign, configs.hero(chosen_hero), path)  # [paths] refusals, no write
    configs, hero = configs_on_path(configs, configs.hero(chosen_hero), path)
    check_battle_knobs(hero, configs.profile_for(hero))  # [armory] refuse impossible knobs before any write
    check_hero_files(hero, realm.root)  # a broken hero folder is refused before any write
    # A listed module that is not installed → InputError, before anything is written.
    modules = installed_modules(realm, configs.curriculum) if configs.curriculum.modules else {}
    if campaign is None:
        campaign = start_campaign(store, hero.id)
    if campaign.training_path != path:
        campaign = store.campaigns.update(campaign.id, training_path=path)
    keeper = make_keeper(configs, store, campaign.id, stop_when)
    curriculum = battle_curriculum(configs, keeper, hero, campaign, modules)
    # [issue 13] unlisted checkpoint folders first (a newer complete one is adopted), then the
    # newest checkpoint that verifies; each one passed over is marked damaged and named in `notes`.
    notes = path_notes(configs, path) + adopt_orphans(store, realm, campaign)
    if followed and school != "scribe":
        notes.append(f"school {school}: the campaign follows it (chosen in the Armory)")
    resumed, resume_notes = resume_point(store, realm, campaign.id)
    notes += resume_notes
    quest_path, quest_id, board_quest = battle_quest(realm, configs, store, hero, campaign, quest, resumed, curriculum)
    start_step = resumed.step if resumed else 0
    eval_samples_by_skill = {sid: cfg.eval_samples_per_level for sid, cfg in configs.skills.items()}
    eval_samples = min(eval_samples_by_skill.values(), default=32)  # for a skill the job does not list
    job = build_job(
        realm,
        hero,
        campaign,
        quest_path,
        quest_id,
        start_step=start_step,
        steps=steps,
        resume_from=realm.root / resumed.path if resumed else None,
        curriculum=curriculum,
        eval_samples=eval_samples,
        memory_profile=configs.profile_for(hero).model_dump(mode="json"),
        school=school,
        school_options=school_options,
        oracle_loss=oracle_loss,
    )
    job = replace(job, eval_samples_by_skill=eval_samples_by_skill, optimizer_args=path_optimizer_args(configs, path))
    return BattlePlan(job, hero, campaign, quest_id, quest_path, board_quest, resumed, keeper, tuple(notes))
