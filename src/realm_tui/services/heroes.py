"""Who answers or whose limits apply: the hero (and checkpoint) chosen for sparring and evaluation,
a checkpoint named by the player, the hero whose token limit a quest is checked against.

Both faces call these (`realm eval`, `realm quest spar`, the Guild's sparring); they raise
InputError / ConfigError with the reason and never print.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from realm_tui.config.hero import HeroConfig
from realm_tui.config.realm_config import DEFAULT_HERO, RealmConfigs, load_hero
from realm_tui.confine import checkpoint_folder
from realm_tui.contract.manifest import is_valid_checkpoint
from realm_tui.errors import ConfigError, InputError
from realm_tui.paths import RealmPaths
from realm_tui.services.records import current_campaign
from realm_tui.store import CheckpointRecord, Store


@dataclass(frozen=True)
class HeroChoice:
    """Who answers: a hero config and the checkpoint folder (None: the base hero)."""

    hero: HeroConfig
    checkpoint: Path | None
    label: str
    record: CheckpointRecord | None = None


def resolve_checkpoint(realm: RealmPaths, store: Store, name: str) -> CheckpointRecord | Path:
    """A ledger record by name (or unique prefix; `champion`, `latest`), else a checkpoint folder."""
    records = store.ledger.all()
    if name in ("champion", "latest"):
        campaign = current_campaign(store)
        if campaign is None:
            raise InputError(None, f"--checkpoint {name}: there is no campaign yet")
        found = store.ledger.champion(campaign.id) if name == "champion" else store.ledger.latest(campaign.id)
        if found is None:
            raise InputError(None, f"--checkpoint {name}: campaign {campaign.id} has no {name} checkpoint yet")
        return found
    exact = [r for r in records if r.name == name] or [r for r in records if r.name.startswith(name)]
    if len(exact) == 1:
        return exact[0]
    if len(exact) > 1:
        raise InputError(None, f"--checkpoint {name!r} matches {len(exact)} checkpoints: be more precise")
    for folder in (Path(name).expanduser(), realm.checkpoints / name, realm.root / name):
        if folder.is_dir():
            return folder.resolve()
    raise InputError(None, f"no checkpoint {name!r} in the ledger or on disk (see `realm vault list`)")


def choose_hero(
    realm: RealmPaths, configs: RealmConfigs, store: Store, checkpoint: str | None, hero_id: str | None
) -> HeroChoice:
    """`--checkpoint` (with its hero), else the current campaign's latest checkpoint, else the base hero."""
    campaign = current_campaign(store, hero_id)
    if checkpoint is not None:
        found = resolve_checkpoint(realm, store, checkpoint)
        if isinstance(found, Path):
            hero = configs.hero(hero_id or (campaign.hero_id if campaign else DEFAULT_HERO))
            return HeroChoice(hero, found, found.name)
        folder = checkpoint_folder(realm, found.path)  # confined to saves/checkpoints/
        if not is_valid_checkpoint(folder):
            raise InputError(folder, f"checkpoint {found.name} is missing or does not verify")
        return HeroChoice(configs.hero(hero_id or found.hero_id), folder, found.name, found)
    if campaign is not None:
        for record in reversed(store.ledger.by_campaign(campaign.id)):
            try:
                folder = checkpoint_folder(realm, record.path)
            except InputError:
                continue
            if not record.damaged and is_valid_checkpoint(folder):
                hero = configs.hero(hero_id or record.hero_id)
                return HeroChoice(hero, folder, record.name, record)
    hero = configs.hero(hero_id or (campaign.hero_id if campaign else DEFAULT_HERO))
    return HeroChoice(hero, None, f"{hero.id} (base)")


@dataclass(frozen=True)
class LimitsHero:
    """The hero whose `training_defaults.max_length` quests are checked against (None: unchecked)."""

    hero: HeroConfig | None
    warning: str = ""
    """Why the token limits go unchecked (the default hero's config cannot load), for the face to show."""


def hero_for_limits(realm: RealmPaths, store: Store | None, hero_id: str | None) -> LimitsHero:
    """`--hero` (a ConfigError if it cannot load), else the active campaign's hero, else the default
    hero; when that one cannot load, no hero and the reason as a warning."""
    if hero_id is not None:
        return LimitsHero(load_hero(realm.configs, hero_id))
    active = store.campaigns.active() if store is not None else None
    chosen = active.hero_id if active else DEFAULT_HERO
    try:
        return LimitsHero(load_hero(realm.configs, chosen))
    except ConfigError as err:
        return LimitsHero(None, f"token limits not checked: {err}")
