"""Checkpoints at battle start: verify before resuming, mark bad ones damaged, adopt or clean orphans.

* The resume point is the newest ledger checkpoint of the campaign that verifies (manifest,
  hashes, no planted files: `contract.manifest.verify_checkpoint`). Each newer one that does not
  is marked `damaged` in the ledger (the Vault shows it) and never tried again; the battle says
  which one it falls back to.
* A checkpoint folder (`checkpoint-…` or `.tmp-…` in saves/checkpoints/) the ledger does not list
  is an orphan: a kill between the trainer's rename
  and the parent's ledger commit, or a trainer that saved after its parent died. A complete one
  (it verifies) newer than its campaign's latest is adopted into the ledger; anything else
  (unfinished `.tmp-` saves, damaged, older, of no known campaign) is removed. Each is one line.
* A fatal trainer error naming a ledger checkpoint (e.g. `trainer_state.pt` refused by
  `weights_only`) marks it damaged, so the next battle falls back instead of retrying it forever.

Pure file checks (hashlib, json): no torch.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from realm_tui.confine import checkpoint_folder
from realm_tui.contract.manifest import TEMP_PREFIX, manifest_size, verify_checkpoint
from realm_tui.errors import InputError
from realm_tui.paths import RealmPaths
from realm_tui.store import CampaignRecord, CheckpointRecord, EventRecord, Store

CHECKPOINT_PREFIX = "checkpoint-"
"""How the trainer names a checkpoint folder (`trainer.checkpoint.checkpoint_name`)."""


def _folder(realm: RealmPaths, record: CheckpointRecord) -> Path:
    return checkpoint_folder(realm, record.path)


def problem_of(realm: RealmPaths, record: CheckpointRecord) -> str | None:
    """Why the record's checkpoint cannot be used (None: it verifies)."""
    if record.damaged:
        return record.damaged
    try:
        verify_checkpoint(_folder(realm, record))
    except InputError as err:
        return err.problem
    return None


def mark_damaged(store: Store, record: CheckpointRecord, problem: str) -> None:
    if not store.readonly and record.damaged != problem:
        store.ledger.update(record.name, damaged=problem)
        store.events.add(
            EventRecord(
                kind="checkpoint_damaged",
                campaign_id=record.campaign_id,
                data={"checkpoint": record.name, "problem": problem},
            )
        )


def resume_point(store: Store, realm: RealmPaths, campaign_id: str) -> tuple[CheckpointRecord | None, list[str]]:
    """The newest verified checkpoint of the campaign, and one line per newer one passed over."""
    notes: list[str] = []
    records = sorted(store.ledger.by_campaign(campaign_id), key=lambda r: (r.step, r.created_at), reverse=True)
    for record in records:
        problem = problem_of(realm, record)
        if problem is None:
            if notes:
                notes.append(f"falling back to the newest good checkpoint: {record.name} (step {record.step})")
            return record, notes
        mark_damaged(store, record, problem)
        notes.append(f"checkpoint {record.name} is damaged ({problem}): not resuming from it")
    if notes:
        notes.append("no good checkpoint is left: starting from the base hero")
    return None, notes


def adopt_orphans(store: Store, realm: RealmPaths, campaign: CampaignRecord) -> list[str]:
    """Adopt complete unlisted checkpoints newer than their campaign's latest; remove the rest."""
    parent = realm.checkpoints
    if not parent.is_dir() or store.readonly:
        return []
    listed: set[Path] = set()
    for record in store.ledger.all():
        try:
            listed.add(_folder(realm, record).resolve())
        except InputError:
            continue
    notes: list[str] = []
    latest_at_start: dict[str, CheckpointRecord | None] = {}
    for entry in sorted(parent.iterdir()):
        ours = entry.name.startswith((TEMP_PREFIX, CHECKPOINT_PREFIX))  # names the trainer gives
        holds_listed = any(p == entry.resolve() or p.is_relative_to(entry.resolve()) for p in listed)
        if not ours or holds_listed or entry.is_symlink():
            continue  # somebody else's folder (or a link): never ours to adopt or remove
        if entry.name.startswith(TEMP_PREFIX):
            notes.append(_remove(entry, "an unfinished save"))
            continue
        try:
            manifest = verify_checkpoint(entry)
        except InputError as err:
            notes.append(_remove(entry, f"incomplete or damaged: {err.problem}"))
            continue
        owner = _owner(store, campaign, manifest)
        if owner is None:
            notes.append(_remove(entry, "it belongs to no campaign of this realm"))
            continue
        if owner.id not in latest_at_start:  # the ledger as it was: adoption order does not matter
            latest_at_start[owner.id] = store.ledger.latest(owner.id)
        latest = latest_at_start[owner.id]
        step = int(manifest.get("step", -1))
        if latest is not None and step <= latest.step:
            notes.append(_remove(entry, f"older than {owner.id}'s latest checkpoint {latest.name}"))
            continue
        store.ledger.upsert(_record(realm, entry, owner, manifest))
        store.events.add(EventRecord(kind="checkpoint_adopted", campaign_id=owner.id, data={"checkpoint": entry.name}))
        notes.append(f"adopted {entry.name} (step {step}) into campaign {owner.id}: it was saved but never listed")
    return notes


def _owner(store: Store, campaign: CampaignRecord, manifest: dict[str, object]) -> CampaignRecord | None:
    named = manifest.get("campaign_id")
    if isinstance(named, str) and named:
        return store.campaigns.get(named)
    return campaign if manifest.get("hero_id") == campaign.hero_id else None


def _record(realm: RealmPaths, folder: Path, owner: CampaignRecord, manifest: dict[str, object]) -> CheckpointRecord:
    def number(key: str) -> float | None:
        value = manifest.get(key)
        return float(value) if isinstance(value, int | float) else None

    created = number("created_at")
    record = CheckpointRecord(
        name=folder.name,
        campaign_id=owner.id,
        hero_id=owner.hero_id,
        step=int(manifest.get("step", 0)),  # type: ignore[call-overload]
        path=folder.relative_to(realm.root).as_posix(),
        train_loss=number("train_loss"),
        val_loss=number("val_loss"),
        quest_id=manifest.get("quest_id") if isinstance(manifest.get("quest_id"), str) else None,  # type: ignore[arg-type]
        skill_levels=dict(owner.skill_levels),
        size_bytes=manifest_size(folder),
        adapter=bool(manifest.get("adapter", False)),
        notes={"adopted": True},
    )
    return record.model_copy(update={"created_at": created}) if created is not None else record


def _remove(entry: Path, why: str) -> str:
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry, ignore_errors=True)
    else:
        entry.unlink(missing_ok=True)
    return f"removed the unlisted checkpoint folder {entry.name} ({why})"


def damaged_by_error(store: Store, realm: RealmPaths, campaign_id: str, message: str) -> str | None:
    """Mark the campaign checkpoint a fatal trainer error names as damaged; its name, or None."""
    for record in store.ledger.by_campaign(campaign_id):
        try:
            folder = _folder(realm, record)
        except InputError:
            continue
        if f"{folder}:" in message or f"{folder.resolve()}:" in message:  # InputError: "<folder>: why"
            mark_damaged(store, record, message.splitlines()[0][-300:])
            return record.name
    return None
