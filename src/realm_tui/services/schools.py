"""Training schools for the Armory: the list it offers, and which one a hero's campaign follows.

A campaign's battles train in its school (`CampaignRecord.school`, None: the Scribe) unless
`realm train --no-ui --school` names one for that battle (`battle.setup.plan_battle`). The
Armory can make a campaign follow the Scribe or the Arena, whose battles need nothing the
campaign does not have; the Judge (a preference quest) and the Whisper (a teacher) need a file
or a model named per battle, so the Armory says how to start them instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from realm_tui.config.lore import lore
from realm_tui.config.realm_config import RealmConfigs
from realm_tui.contract.school_options import SCHOOLS
from realm_tui.paths import RealmPaths
from realm_tui.services.campaigns import CampaignDesk, CampaignRefusal
from realm_tui.services.records import current_campaign
from realm_tui.store import CampaignRecord, Store

DEFAULT_SCHOOL = "scribe"

NEEDS_PER_BATTLE = {
    "judge": (
        "the Judge trains on a preference quest named for each battle: "
        "realm train --no-ui --school judge --quest FILE.jsonl"
    ),
    "whisper": (
        "the Whisper needs a teacher named for each battle: "
        "realm train --no-ui --school whisper --teacher HERO_OR_FOLDER"
    ),
}
"""Why a campaign cannot follow these schools on its own, with the way to train in them."""


@dataclass(frozen=True)
class SchoolRow:
    """One school as the Armory shows it."""

    id: str
    icon: str
    label: str
    tooltip: str
    refused: str | None
    """Why the campaign cannot follow it (None: it can)."""


def school_refusal(configs: RealmConfigs, school: str) -> str | None:
    """Why a campaign cannot follow `school` in this realm (None: it can)."""
    if school not in SCHOOLS:
        return f"unknown school {school!r}: use one of {', '.join(SCHOOLS)}"
    if school in NEEDS_PER_BATTLE:
        return NEEDS_PER_BATTLE[school]
    if school == "arena" and not configs.curriculum.enabled_skills():
        return "the Arena trains on skill problems, and configs/curriculum.yaml enables no skill"
    return None


def school_rows(configs: RealmConfigs) -> list[SchoolRow]:
    """Every training school, in `contract.school_options.SCHOOLS`' order, with its lore."""
    book = lore().terms
    rows = []
    for school in SCHOOLS:
        entry = book.get(f"school.{school}")
        rows.append(
            SchoolRow(
                id=school,
                icon=entry.icon if entry else "🏫",
                label=entry.label if entry else school.title(),
                tooltip=entry.tooltip if entry else "",
                refused=school_refusal(configs, school),
            )
        )
    return rows


class SchoolDesk:
    """The game's view of schools over its store: which one a campaign follows, and following one."""

    def __init__(self, realm: RealmPaths, store: Store) -> None:
        self.realm = realm
        self.store = store

    def followed(self, hero_id: str | None = None) -> str:
        """The school the hero's current campaign follows (the Scribe without a campaign or a pick)."""
        campaign = current_campaign(self.store, hero_id)
        return (campaign.school if campaign is not None else None) or DEFAULT_SCHOOL

    def follow(self, configs: RealmConfigs, hero_id: str, school: str) -> CampaignRecord:
        """Make the hero's campaign train in `school` from its next battle (a new campaign when it
        has none); CampaignRefusal, with nothing written, for a school it cannot follow alone."""
        problem = school_refusal(configs, school)
        if problem:
            raise CampaignRefusal(problem)
        active = self.store.campaigns.active(hero_id)
        if active is None:
            hero = configs.hero(hero_id)
            active = CampaignDesk(self.realm, self.store).new_campaign(hero.id, hero.name)
        return self.store.campaigns.update(active.id, school=None if school == DEFAULT_SCHOOL else school)
