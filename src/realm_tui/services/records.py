"""What the realm's records say: the current campaign and its progress, loss history, checkpoints,
recent events. Read-only use-cases both faces call (the CLI over a store it opened, the TUI's
screens through `Records` over the game's store), so neither reads `store/` itself.

`current_campaign` is the one definition of "the campaign the player means": the active one,
else the most recently updated one, so a maxed-out or paused campaign stays in view.
"""

from __future__ import annotations

from dataclasses import dataclass

from realm_tui.errors import InputError
from realm_tui.store import CampaignRecord, CheckpointRecord, EvalRecord, EventRecord, Store

RECENT_EVENTS = 40
"""Stored events a fresh battle log starts with."""
REGRESSIONS_READ = 500
"""Regression events the Guild's level-cap preview reads (newest first)."""


def current_campaign(store: Store, hero_id: str | None = None) -> CampaignRecord | None:
    """The active campaign (of the hero, if given), else the most recently updated one."""
    active = store.campaigns.active(hero_id)
    if active is not None:
        return active
    found = store.campaigns.by_hero(hero_id) if hero_id else store.campaigns.all()
    return max(found, key=lambda c: c.updated_at) if found else None


def find_campaign(store: Store, campaign_id: str | None) -> CampaignRecord | None:
    """The campaign named by id or unique prefix (InputError if none or several match); without
    one, `current_campaign` (None before the first campaign)."""
    if not campaign_id:
        return current_campaign(store)
    found = store.campaigns.get(campaign_id)
    if found is not None:
        return found
    matches = [c for c in store.campaigns.all() if c.id.startswith(campaign_id)]
    if len(matches) != 1:
        raise InputError(None, f"no single campaign matches {campaign_id!r} (see `realm campaign list`)")
    return matches[0]


def require_campaign(store: Store, campaign_id: str | None) -> CampaignRecord:
    """`find_campaign`, refusing when there is no campaign at all."""
    found = find_campaign(store, campaign_id)
    if found is None:
        raise InputError(None, "no campaign yet: start one with `realm campaign new` (or `realm train --no-ui`)")
    return found


def training_level_of(store: Store, skill: str, max_level: int) -> int:
    """The skill's training level in the current campaign (1 without one)."""
    campaign = current_campaign(store)
    mastered = campaign.skill_levels.get(skill, 0) if campaign else 0
    return min(mastered + 1, max_level)


@dataclass(frozen=True)
class CampaignProgress:
    """The stored records the hero card and the Guild are drawn from (all empty before a campaign)."""

    campaign: CampaignRecord | None
    evals: tuple[EvalRecord, ...] = ()
    """The campaign's evals, ordered by step."""
    latest: CheckpointRecord | None = None
    """The campaign's latest checkpoint (its losses stand in for a battle's between battles)."""
    unlocked: frozenset[str] = frozenset()
    """Ids of the achievements the campaign unlocked."""
    regressions: tuple[EventRecord, ...] = ()
    """The campaign's stored regression events, read only when asked (the Guild's level-cap preview)."""


def read_progress(store: Store, hero_id: str | None = None, *, regressions: bool = False) -> CampaignProgress:
    """The current campaign (of the hero, if given) and its evals, latest checkpoint, achievements
    (and its regression events, when asked)."""
    return progress_of(store, current_campaign(store, hero_id), regressions=regressions)


def progress_of(store: Store, campaign: CampaignRecord | None, *, regressions: bool = False) -> CampaignProgress:
    """The campaign's evals, latest checkpoint and achievements (and regression events, when asked)."""
    if campaign is None:
        return CampaignProgress(None)
    events = store.events.recent(REGRESSIONS_READ, campaign_id=campaign.id, kind="regression") if regressions else []
    return CampaignProgress(
        campaign,
        tuple(store.evals.for_campaign(campaign.id)),
        store.ledger.latest(campaign.id),
        frozenset(a.id for a in store.achievements.for_campaign(campaign.id)),
        tuple(events),
    )


@dataclass(frozen=True)
class CampaignReport:
    """What `realm campaign show` prints: the campaign, its checkpoints and its champion."""

    campaign: CampaignRecord
    checkpoints: tuple[CheckpointRecord, ...]
    champion: CheckpointRecord | None


def campaign_report(store: Store, campaign_id: str | None) -> CampaignReport:
    record = require_campaign(store, campaign_id)
    return CampaignReport(record, tuple(store.ledger.by_campaign(record.id)), store.ledger.champion(record.id))


def campaigns_by_age(store: Store, *, archived: bool) -> list[CampaignRecord]:
    """Every campaign, oldest first (archived ones only when asked)."""
    records = sorted(store.campaigns.all(), key=lambda c: c.created_at)
    return records if archived else [r for r in records if r.status != "archived"]


def named_checkpoint(store: Store, name: str) -> CheckpointRecord | None:
    """`champion` / `latest` of the current campaign (None when it has none); None for other names."""
    if name not in ("champion", "latest"):
        return None
    campaign = current_campaign(store)
    if campaign is None:
        return None
    return store.ledger.champion(campaign.id) if name == "champion" else store.ledger.latest(campaign.id)


def checkpoint_choices(store: Store) -> list[tuple[str, str]]:
    """(label, name) of every ledger checkpoint, newest first: the current campaign's, then each older
    campaign's (most recently played first), labelled with its campaign so New Game+ keeps the old
    ones reachable."""
    current = current_campaign(store)
    campaigns = sorted(store.campaigns.all(), key=lambda c: c.updated_at, reverse=True)
    names = {c.id: c.name or c.id for c in campaigns}
    order = {c.id: i for i, c in enumerate(campaigns)}
    if current is not None:
        order[current.id] = -1
    rows = sorted(store.ledger.all(), key=lambda r: (order.get(r.campaign_id, len(order)), -r.step, -r.created_at))
    choices = []
    for r in rows:
        star = " ★" if r.champion else ""
        mine = current is not None and r.campaign_id == current.id
        where = "" if mine else f"  · {names.get(r.campaign_id, r.campaign_id)}"
        choices.append((f"{r.name}{star}{where}", r.name))
    return choices


class Records:
    """The reads a face makes over one open store (the TUI's `Game` holds one for its screens)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    @property
    def warnings(self) -> list[str]:
        """What opening the store repaired (a torn write, a stale temp file), for the player."""
        return list(self._store.warnings)

    def current_campaign(self, hero_id: str | None = None) -> CampaignRecord | None:
        return current_campaign(self._store, hero_id)

    def progress(self, hero_id: str | None = None, *, regressions: bool = False) -> CampaignProgress:
        return read_progress(self._store, hero_id, regressions=regressions)

    def recent_events(self, n: int = RECENT_EVENTS) -> list[EventRecord]:
        """The current campaign's latest events (every campaign's before the first one)."""
        campaign = current_campaign(self._store)
        if campaign is None:
            return list(self._store.events.recent(n))
        return list(self._store.events.recent(n, campaign_id=campaign.id))

    def loss_points(self) -> list[tuple[float, float]]:
        """(step, train loss) of the current campaign's checkpoints: the loss plot between battles."""
        campaign = current_campaign(self._store)
        if campaign is None:
            return []
        records = self._store.ledger.by_campaign(campaign.id)
        return [(r.step, r.train_loss) for r in records if r.train_loss is not None]

    def val_loss_points(self) -> list[tuple[float, float]]:
        """(step, validation loss) of the current campaign's checkpoints (beside `loss_points`)."""
        campaign = current_campaign(self._store)
        if campaign is None:
            return []
        records = self._store.ledger.by_campaign(campaign.id)
        return [(r.step, r.val_loss) for r in records if r.val_loss is not None]

    def checkpoint(self, name: str) -> CheckpointRecord | None:
        return self._store.ledger.get(name)

    def checkpoint_choices(self) -> list[tuple[str, str]]:
        return checkpoint_choices(self._store)

    def default_checkpoint(self) -> tuple[CheckpointRecord, str] | None:
        """The current campaign's champion, else its latest checkpoint, and which of the two it is
        (the Oracle's first hero); None when the campaign has no checkpoint."""
        for kind in ("champion", "latest"):
            record = named_checkpoint(self._store, kind)
            if record is not None:
                return record, kind
        return None
