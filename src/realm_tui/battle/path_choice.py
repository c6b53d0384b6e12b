"""Which path a battle follows, and what that does to its hero and curriculum (reads only).

A campaign follows one path (`CampaignRecord.training_path`): `realm train --path` or the Armory
chooses it, later battles keep it. Without one the battle follows the default path (the hero's
own `training_defaults` in `curriculum.yaml`'s mix): exactly the battle as it was before paths.
A campaign whose checkpoints hold one optimizer's state cannot switch to a path with another
optimizer (the state would not load): that is a new campaign.
"""

from __future__ import annotations

from dataclasses import replace

from realm_tui.config.hero import HeroConfig
from realm_tui.config.path_book import DEFAULT_PATH_LABEL, ResolvedPath, apply_path
from realm_tui.config.realm_config import RealmConfigs
from realm_tui.errors import InputError
from realm_tui.store import CampaignRecord, Store


def _resolve(configs: RealmConfigs, path_id: str) -> ResolvedPath:
    if configs.path_book is None:
        raise InputError(None, f"unknown path {path_id!r}: this realm offers no paths (see `realm paths`)")
    return configs.path_book.resolve(path_id)


def path_optimizer(configs: RealmConfigs, hero: HeroConfig, path_id: str | None) -> str:
    """The optimizer a battle on `path_id` uses (None: the hero's own)."""
    if path_id is None:
        return hero.training_defaults.optimizer
    return _resolve(configs, path_id).physics.optimizer.type


def switch_problem(
    configs: RealmConfigs, store: Store, campaign: CampaignRecord, hero: HeroConfig, path_id: str | None
) -> str | None:
    """Why `campaign` cannot follow `path_id` from now on (None: it can): its latest checkpoint holds
    another optimizer's state."""
    latest = store.ledger.latest(campaign.id)
    if latest is None or latest.training_path == path_id:
        return None
    held = path_optimizer(configs, hero, latest.training_path) if _known(configs, latest.training_path) else None
    wanted = path_optimizer(configs, hero, path_id)
    if held == wanted:
        return None
    was = latest.training_path or DEFAULT_PATH_LABEL
    return (
        f"campaign {campaign.id}'s checkpoints were trained on path {was} ({held or 'an unknown optimizer'}); "
        f"path {path_id or DEFAULT_PATH_LABEL} trains with {wanted}, whose state cannot continue them. "
        f"Start a new campaign on it: realm train --no-ui --fresh --path {path_id or '…'}"
    )


def _known(configs: RealmConfigs, path_id: str | None) -> bool:
    book = configs.path_book
    return path_id is None or (book is not None and any(p.id == path_id for p in book.paths))


def battle_path(
    configs: RealmConfigs, store: Store, campaign: CampaignRecord | None, hero: HeroConfig, requested: str | None
) -> str | None:
    """The path id this battle follows: the one asked for, else the campaign's; InputError when the
    campaign cannot switch to it or the realm does not offer it."""
    path_id = requested if requested is not None else (campaign.training_path if campaign else None)
    if path_id is not None:
        _resolve(configs, path_id)
    if campaign is not None:
        problem = switch_problem(configs, store, campaign, hero, path_id)
        if problem:
            raise InputError(None, problem)
    return path_id


def configs_on_path(configs: RealmConfigs, hero: HeroConfig, path_id: str | None) -> tuple[RealmConfigs, HeroConfig]:
    """The realm's configs as a battle on `path_id` sees them: the hero's training settings from the
    physics, the curriculum's skills and modules from the domain (unchanged for the default path)."""
    if path_id is None:
        return configs, hero
    path = _resolve(configs, path_id)
    assert configs.path_book is not None  # _resolve checked it
    moved, curriculum = apply_path(
        configs.path_book, path, hero, configs.profile_for(hero), configs.curriculum, configs.skills
    )
    return replace(configs, curriculum=curriculum, heroes={**configs.heroes, hero.id: moved}), moved


def path_optimizer_args(configs: RealmConfigs, path_id: str | None) -> dict[str, object]:
    """The physics' optimizer arguments for the job (`TrainJob.optimizer_args`); none on the default path."""
    return {} if path_id is None else dict(_resolve(configs, path_id).physics.optimizer.args)


def path_notes(configs: RealmConfigs, path_id: str | None) -> list[str]:
    """The battle's start line for a path (none on the default path: that battle reads as before)."""
    if path_id is None:
        return []
    path = _resolve(configs, path_id)
    skills = " ".join(s.upper() for s in configs.curriculum.enabled_skills())
    return [
        f"path {path_id}: {path.technique.icon} {path.technique.rpg_name} ({path.physics.summary()}); skills {skills}"
    ]
