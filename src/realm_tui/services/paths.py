"""Paths for both faces: the table `realm paths` and the Armory show, and following one.

A path is a technique (a named physics) in a domain (`config.path_book`); a campaign follows one
(`CampaignRecord.training_path`, None: the default path). `follow_path` is the Armory's move;
`realm train --no-ui --path` makes the same choice inside the battle's plan (`battle.path_choice`).
"""

from __future__ import annotations

from dataclasses import dataclass

from realm_tui.battle.path_choice import battle_path, configs_on_path, switch_problem
from realm_tui.config.path_book import DEFAULT_PATH_LABEL, ResolvedPath, physics_refusals
from realm_tui.config.realm_config import RealmConfigs
from realm_tui.errors import InputError
from realm_tui.paths import RealmPaths
from realm_tui.services.campaigns import CampaignDesk, CampaignRefusal
from realm_tui.services.records import current_campaign
from realm_tui.store import CampaignRecord, Store


@dataclass(frozen=True)
class PathRow:
    """One path as the faces show it."""

    id: str
    icon: str
    technique: str
    """The technique's RPG name (`The Orthogonal Way`)."""
    technique_name: str
    """Its short name (`Muon`)."""
    physics: str
    """One line: optimizer, schedule, precision, clipping, accumulation."""
    domain: str
    skills: tuple[str, ...]
    suits: str
    """Sizes and heroes it is recommended for."""
    refused: str | None
    """Why the hero asked about cannot follow it (its memory profile refuses the physics); None: it can."""


def _suits(path: ResolvedPath) -> str:
    s = path.technique.suits
    parts = [f"{s.sizes_b.min:g}–{s.sizes_b.max:g}B"] if s.sizes_b is not None else []
    parts += [", ".join(s.heroes)] if s.heroes else []
    return " · ".join(parts) or "any hero"


def path_rows(configs: RealmConfigs, hero_id: str | None = None) -> list[PathRow]:
    """Every path the realm offers, in `paths.yaml`'s order; `refused` for `hero_id`'s profile."""
    book = configs.path_book
    if book is None:
        return []
    profile = configs.profile_for(configs.hero(hero_id)) if hero_id else None
    rows = []
    for p in book.all():
        refused = physics_refusals(p.physics, profile) if profile is not None else []
        rows.append(
            PathRow(
                id=p.id,
                icon=p.technique.icon,
                technique=p.technique.rpg_name,
                technique_name=p.technique.name,
                physics=p.physics.summary(),
                domain=p.domain.name,
                skills=tuple(p.domain.skills),
                suits=_suits(p),
                refused=refused[0] if refused else None,
            )
        )
    return rows


def path_label(path_id: str | None) -> str:
    """What the screens show for a campaign's or a checkpoint's path."""
    return path_id or DEFAULT_PATH_LABEL


def path_caption(configs: RealmConfigs, path_id: str | None) -> str:
    """One line for the Guild, the Vault and the Armory: `🧲 muon@reasoning · The Orthogonal Way`."""
    if path_id is None:
        return f"{DEFAULT_PATH_LABEL} · the hero's own training settings in curriculum.yaml's mix"
    book = configs.path_book
    entry = next((p for p in book.paths if p.id == path_id), None) if book is not None else None
    if book is None or entry is None:
        return f"{path_id} (no longer offered by configs/paths.yaml)"
    technique = book.techniques[entry.technique]
    return f"{technique.icon} {path_id} · {technique.rpg_name}"


class PathDesk:
    """The game's view of paths over its store: which one a campaign follows, and following one."""

    def __init__(self, realm: RealmPaths, store: Store) -> None:
        self.realm = realm
        self.store = store

    def followed(self, hero_id: str | None = None) -> str | None:
        """The path the hero's current campaign follows (None: the default path)."""
        campaign = current_campaign(self.store, hero_id)
        return campaign.training_path if campaign is not None else None

    def follow(self, configs: RealmConfigs, hero_id: str, path_id: str | None) -> CampaignRecord:
        """`follow_path` on this store."""
        return follow_path(self.realm, self.store, configs, hero_id, path_id)


def followed_path(store: Store) -> str | None:
    """The path the current campaign follows (None: the default path, or no campaign yet)."""
    campaign = current_campaign(store)
    return campaign.training_path if campaign is not None else None


def follow_path(
    realm: RealmPaths, store: Store, configs: RealmConfigs, hero_id: str, path_id: str | None
) -> CampaignRecord:
    """Make the hero's campaign follow `path_id` from its next battle (None: the default path).

    Without an active campaign of `hero_id`, a new one starts on the path. Refused (CampaignRefusal)
    when the hero's memory profile refuses the physics, or the campaign's checkpoints hold another
    optimizer's state; nothing is written then."""
    hero = configs.hero(hero_id)
    active = store.campaigns.active(hero_id)
    try:
        if path_id is not None:
            battle_path(configs, store, active, hero, path_id)  # offered, and the campaign can switch
            configs_on_path(configs, hero, path_id)  # the profile's refusal
        elif active is not None and (problem := switch_problem(configs, store, active, hero, None)):
            raise CampaignRefusal(problem)
    except CampaignRefusal:
        raise
    except InputError as err:  # a ConfigError too: the player's message, nothing written
        raise CampaignRefusal(err.problem) from None
    if active is None:
        active = CampaignDesk(realm, store).new_campaign(hero.id, hero.name)
    return store.campaigns.update(active.id, training_path=path_id)
