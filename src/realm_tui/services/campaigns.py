"""Campaign moves from the game: start a new campaign with a hero, resume a paused one, archive
one, start New Game+ from a checkpoint.

The moves themselves are `rules.campaign` (new_campaign, resume, archive, pause, new_game_plus); a
new or resumed campaign becomes the one active campaign (the active one pauses). This module reads
the stored records into rule states and writes the results back, as `realm campaign` does.

New Game+ seeds the new campaign's ledger with the chosen checkpoint (hard-linked where the
disk allows, else copied, and verified), so its first battle resumes from those weights: a
battle always resumes from its campaign's latest usable checkpoint. The source keeps its own
folder; deleting one never touches the other.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from realm_tui.confine import checkpoint_folder
from realm_tui.contract.manifest import TEMP_PREFIX, is_valid_checkpoint
from realm_tui.errors import InputError
from realm_tui.paths import RealmPaths
from realm_tui.rules.campaign import (
    CampaignState,
    CampaignStatus,
    archive,
    new_campaign,
    new_game_plus,
    pause,
    resume,
)
from realm_tui.store import CampaignRecord, CheckpointRecord, HeroRecord, Store


class CampaignRefusal(InputError):
    """A campaign move the rules (or the disk) refuse, with the reason for the player (the CLI's
    exit code 2)."""

    def __init__(self, problem: str) -> None:
        super().__init__(None, problem)


def _state(record: CampaignRecord) -> CampaignState:
    return CampaignState(
        id=record.id,
        hero_id=record.hero_id,
        status=CampaignStatus(record.status),
        start_checkpoint=record.start_checkpoint,
        current_step=record.current_step,
        skill_levels=dict(record.skill_levels),
    )


def _entries(state: CampaignState, since: int = 0) -> list[dict[str, object]]:
    now = time.time()
    return [{"kind": m.kind, "step": m.step, "text": m.text, "at": now} for m in state.milestones[since:]]


class _LinkOrCopy:
    """A `copytree` copy function: hard links where the disk allows (no bytes written; checkpoint
    files are never changed in place), else a real copy. Remembers whether it had to copy."""

    def __init__(self) -> None:
        self.copied = False

    def __call__(self, src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:  # another filesystem, or links not allowed
            shutil.copy2(src, dst)
            self.copied = True


RESUMABLE = (CampaignStatus.PAUSED.value, CampaignStatus.MAXED_OUT.value)
"""Statuses `rules.campaign.resume` accepts (a maxed-out campaign resumes when the player pushes on)."""


class CampaignDesk:
    """New, resume, archive and New Game+ over the store (this process is its writer)."""

    def __init__(self, realm: RealmPaths, store: Store) -> None:
        self.realm = realm
        self.store = store

    def _require(self, campaign_id: str) -> CampaignRecord:
        record = self.store.campaigns.get(campaign_id)
        if record is None:
            raise CampaignRefusal(f"campaign {campaign_id} is not in the store")
        return record

    def _move(self, record: CampaignRecord, move: Callable[[CampaignState], CampaignState]) -> CampaignRecord:
        try:
            state = move(_state(record))
        except ValueError as err:
            raise CampaignRefusal(str(err)) from None
        return self.store.campaigns.update(
            record.id,
            status=state.status.value,
            milestones=[*record.milestones, *_entries(state)],
            updated_at=time.time(),
        )

    def _pause_active(self, keep: str = "") -> None:
        """Pause every active campaign but `keep`: one campaign is active at a time."""
        for other in self.store.campaigns.all():
            if other.status == CampaignStatus.ACTIVE and other.id != keep:
                self._move(other, pause)

    def active_ids(self) -> list[str]:
        """The active campaign's id (a list: an older realm may hold more than one)."""
        return [c.id for c in self.store.campaigns.all() if c.status == CampaignStatus.ACTIVE]

    def resumable(self) -> list[CampaignRecord]:
        """Campaigns `resume` accepts, most recently updated first."""
        found = [c for c in self.store.campaigns.all() if c.status in RESUMABLE]
        return sorted(found, key=lambda c: c.updated_at, reverse=True)

    def new_campaign(self, hero_id: str, hero_name: str = "", name: str | None = None) -> CampaignRecord:
        """A fresh active campaign of `hero_id` (from the base hero), named `name` (default:
        `<hero> campaign`); the active campaign pauses."""
        campaign_id = self._new_id(hero_id)
        try:
            state = new_campaign(campaign_id, hero_id)
        except ValueError as err:
            raise CampaignRefusal(str(err)) from None
        self._pause_active()
        added = self.store.campaigns.add(
            CampaignRecord(
                id=campaign_id, hero_id=hero_id, name=name or f"{hero_id} campaign", milestones=_entries(state)
            )
        )
        if hero_id not in self.store.heroes:
            self.store.heroes.add(HeroRecord(id=hero_id, name=hero_name or hero_id))
        return added

    def resume(self, campaign_id: str) -> CampaignRecord:
        """Make a paused (or maxed-out) campaign the active one again; the active campaign pauses."""
        record = self._require(campaign_id)
        try:
            resume(_state(record))  # refuse before anything changes
        except ValueError as err:
            raise CampaignRefusal(str(err)) from None
        self._pause_active(keep=campaign_id)
        return self._move(record, resume)

    def archive(self, campaign_id: str) -> CampaignRecord:
        """Close the campaign for good; its record and checkpoints stay readable."""
        return self._move(self._require(campaign_id), archive)

    def new_game_plus(self, checkpoint: str) -> CampaignRecord:
        """A new active campaign that starts from `checkpoint` (its campaign is paused if active)."""
        source_ckpt = self.store.ledger.get(checkpoint)
        if source_ckpt is None:
            raise CampaignRefusal(f"{checkpoint} is not in the ledger any more")
        try:  # confined to saves/checkpoints/, then verified
            folder = checkpoint_folder(self.realm, source_ckpt.path)
        except InputError as err:
            raise CampaignRefusal(str(err)) from None
        if not is_valid_checkpoint(folder):
            raise CampaignRefusal(f"{checkpoint}: the folder {folder} is missing or does not verify")
        source = self._require(source_ckpt.campaign_id)
        campaign_id = self._new_id(source.hero_id, "-ngplus")
        levels = dict(source_ckpt.skill_levels) or dict(source.skill_levels)
        try:
            before = _state(source)
            before = pause(before) if before.status is CampaignStatus.ACTIVE else before
            state = new_game_plus(before, checkpoint, source.hero_id, campaign_id, source_ckpt.step, levels)
        except ValueError as err:
            raise CampaignRefusal(str(err)) from None
        seed = self._seed(source_ckpt, campaign_id)  # the only slow part; nothing is stored before it
        self._pause_active()  # New Game+ becomes the one active campaign
        added = self.store.campaigns.add(
            CampaignRecord(
                id=campaign_id,
                hero_id=source.hero_id,
                name=f"{source.hero_id} New Game+",
                start_checkpoint=checkpoint,
                current_step=source_ckpt.step,
                skill_levels=levels,
                milestones=_entries(state),
                new_game_plus_of=source.id,
                training_path=source_ckpt.training_path,  # its optimizer state is that path's
            )
        )
        self.store.ledger.add(seed)
        return added

    def _new_id(self, hero_id: str, tag: str = "") -> str:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        campaign_id, n = f"{hero_id}{tag}-{stamp}", 1
        while campaign_id in self.store.campaigns:
            n += 1
            campaign_id = f"{hero_id}{tag}-{stamp}-{n}"
        return campaign_id

    def _seed(self, source: CheckpointRecord, campaign_id: str) -> CheckpointRecord:
        """The start checkpoint as the new campaign's first ledger record (its own folder)."""
        name = f"{source.name}-ngplus-{campaign_id.rsplit('-ngplus-', 1)[-1]}"
        target = self.realm.checkpoints / name
        if target.exists() or self.store.ledger.get(name) is not None:
            raise CampaignRefusal(f"{target} exists already")
        tmp = target.with_name(f"{TEMP_PREFIX}{name}")
        shutil.rmtree(tmp, ignore_errors=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        copy = _LinkOrCopy()
        try:
            shutil.copytree(checkpoint_folder(self.realm, source.path), tmp, copy_function=copy)
            tmp.rename(target)
        except (OSError, InputError) as err:
            shutil.rmtree(tmp, ignore_errors=True)
            raise CampaignRefusal(f"cannot copy {source.name} for New Game+: {err}") from None
        if copy.copied and not is_valid_checkpoint(target):  # links share the verified bytes
            shutil.rmtree(target, ignore_errors=True)
            raise CampaignRefusal(f"the copy of {source.name} does not verify")
        return source.model_copy(
            update={
                "name": name,
                "campaign_id": campaign_id,
                "path": Path(os.path.relpath(target, self.realm.root)).as_posix(),
                "champion": False,
                "damaged": None,
                "created_at": time.time(),
                "notes": {**source.notes, "new_game_plus_of": source.name},
            }
        )
