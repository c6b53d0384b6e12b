"""The Vault's actions over the ledger and the checkpoint folders: list, promote, delete, export
(merging a LoRA adapter into its base in a child process).

Deleting removes the ledger record first, then the folder (as retention does): a crash between
the two leaves an orphan folder, never a record pointing at nothing.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from realm_tui.config.hero import Retention
from realm_tui.confine import checkpoint_folder
from realm_tui.contract.manifest import MANIFEST, verify_checkpoint
from realm_tui.errors import InputError
from realm_tui.paths import RealmPaths
from realm_tui.rules.notifications import Notification, new_champion
from realm_tui.services.export_child import run_export_child
from realm_tui.store import CheckpointRecord, Store

ADAPTER_CONFIG = "adapter_config.json"
"""What makes a folder an adapter (the name `trainer.export` looks for; that module imports torch)."""
EXPORT_SKIP = frozenset({"trainer_state.pt", MANIFEST})
"""Trainer-only files left out of an export: the rest is a plain Hugging Face folder."""


def listed_names(folder: Path) -> list[str]:
    """The files a (verified) checkpoint's manifest lists."""
    from realm_tui.contract.manifest import read_manifest

    return sorted(read_manifest(folder)["files"])


class VaultRefusal(Exception):
    """An action the vault will not do, with the reason for the player."""


@dataclass(frozen=True)
class VaultRow:
    name: str
    step: int
    created_at: float
    train_loss: float | None
    val_loss: float | None
    skill_levels: dict[str, int]
    blessing: str | None
    size_bytes: int
    champion: bool
    latest: bool
    on_disk: bool
    adapter: bool
    damaged: str | None = None
    """Why the checkpoint failed verification (never resumed or exported), None when sound."""
    training_path: str | None = None
    """The path of the battle that saved it (None: the default path)."""


@dataclass(frozen=True)
class DiskReport:
    checkpoints_bytes: int
    checkpoints: int
    free_bytes: int
    total_bytes: int


DiskUsage = Callable[[Path], tuple[int, int, int]]
"""`shutil.disk_usage`-shaped: (total, used, free)."""


def _disk_usage(path: Path) -> tuple[int, int, int]:
    usage = shutil.disk_usage(path)
    return usage.total, usage.used, usage.free


class Vault:
    """Checkpoint actions for the current campaign."""

    def __init__(self, realm: RealmPaths, store: Store, disk_usage: DiskUsage = _disk_usage) -> None:
        self.realm = realm
        self.store = store
        self._disk_usage = disk_usage
        self.found_damaged: dict[str, str] = {}
        """Checkpoints found bad by this vault (a read-only one cannot mark them in the ledger)."""

    def rows(self, campaign_id: str | None) -> list[VaultRow]:
        """The campaign's checkpoints, newest first."""
        if campaign_id is None:
            return []
        records = self.store.ledger.by_campaign(campaign_id)
        latest = self.store.ledger.latest(campaign_id)
        return [
            VaultRow(
                name=r.name,
                step=r.step,
                created_at=r.created_at,
                train_loss=r.train_loss,
                val_loss=r.val_loss,
                skill_levels=dict(r.skill_levels),
                blessing=r.blessing,
                size_bytes=r.size_bytes,
                champion=r.champion,
                latest=latest is not None and r.name == latest.name,
                on_disk=self._on_disk(r),
                adapter=r.adapter,
                damaged=r.damaged,
                training_path=r.training_path,
            )
            for r in reversed(records)
        ]

    def _folder_or_none(self, record: CheckpointRecord) -> Path | None:
        """The record's folder, None when its path would leave the checkpoints folder."""
        try:
            return checkpoint_folder(self.realm, record.path)
        except InputError:
            return None

    def _on_disk(self, record: CheckpointRecord) -> bool:
        folder = self._folder_or_none(record)
        return folder is not None and folder.is_dir()

    def folder(self, record: CheckpointRecord) -> Path:
        """The record's folder, confined to the realm's checkpoints folder (VaultRefusal if not)."""
        try:
            return checkpoint_folder(self.realm, record.path)
        except InputError as err:
            raise VaultRefusal(f"{record.name}: {err}") from None

    def verified_folder(self, record: CheckpointRecord) -> Path:
        """The record's folder after a full verification; a bad one is marked damaged (when the
        store is writable) and refused."""
        folder = self.folder(record)
        try:
            verify_checkpoint(folder)
        except InputError as err:
            self.found_damaged[record.name] = err.problem
            if not self.store.readonly:
                self.store.ledger.update(record.name, damaged=err.problem)
            raise VaultRefusal(f"{record.name} cannot be used: {err}") from None
        return folder

    def _require(self, name: str) -> CheckpointRecord:
        record = self.store.ledger.get(name)
        if record is None:
            raise VaultRefusal(f"{name} is not in the ledger any more")
        return record

    def promote(self, name: str) -> Notification:
        """Make a blessed checkpoint its campaign's champion."""
        record = self._require(name)
        if record.champion:
            raise VaultRefusal(f"{name} is the champion already")
        if record.damaged:
            raise VaultRefusal(f"{name} is damaged ({record.damaged}): it cannot be champion")
        if record.blessing != "blessed":
            verdict = record.blessing or "not judged by the temple yet"
            raise VaultRefusal(f"only a blessed checkpoint can be champion; {name} is {verdict}")
        self.store.ledger.set_champion(name)
        return new_champion(name, record.step, None)

    def can_delete(self, name: str) -> str | None:
        """Why `name` must not be deleted (None: it may be)."""
        record = self._require(name)
        if record.champion:
            return f"{name} is the champion: promote another checkpoint first"
        latest = self.store.ledger.latest(record.campaign_id)
        if latest is not None and latest.name == name:
            return f"{name} is the latest checkpoint: the next battle resumes from it"
        return None

    def delete(self, name: str) -> None:
        reason = self.can_delete(name)
        if reason:
            raise VaultRefusal(reason)
        record = self._require(name)
        folder = self._folder_or_none(record)  # a path leading out of the realm is never deleted
        self.store.ledger.remove(name)
        if folder is not None and not folder.is_symlink():
            shutil.rmtree(folder, ignore_errors=True)

    def export_dir(self, name: str) -> Path:
        return self.realm.saves / "exports" / name

    def export(
        self,
        name: str,
        dest: Path | None = None,
        *,
        merge: bool = False,
        on_stage: Callable[[str], object] | None = None,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> Path:
        """Write the checkpoint as a plain Hugging Face folder (weights, config, tokenizer).

        A full checkpoint, or an adapter with `merge=False`, is copied here (no torch needed). An
        adapter with `merge=True` is merged into its base by `trainer.export` in a child process
        (`ExportFailed` says why it failed); the folder appears only when it is complete.
        """
        record = self._require(name)
        source = self.folder(record)
        if not source.is_dir():
            raise VaultRefusal(f"{name}: the folder {source} is missing")
        source = self.verified_folder(record)  # manifest, hashes, no planted weight or pickle
        listed = set(listed_names(source))
        target = Path(dest) if dest is not None else self.export_dir(name)
        if target.exists():
            raise VaultRefusal(f"{target} exists already")
        if merge and self.is_adapter(name):
            return run_export_child(source, target, True, on_stage=on_stage, cancelled=cancelled, cwd=self.realm.root)
        if on_stage is not None:
            on_stage("copying the Hugging Face files")
        tmp = target.with_name(f".tmp-{target.name}-{int(time.time())}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.parent.mkdir(parents=True, exist_ok=True)
        try:
            # Only what the manifest lists (and verified) is copied: a planted file never travels.
            tmp.mkdir()
            for rel in sorted(listed - EXPORT_SKIP):
                (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source / rel, tmp / rel)
            tmp.rename(target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return target

    def is_adapter(self, name: str) -> bool:
        """The checkpoint holds adapter weights (LoRA …) rather than the whole model."""
        record = self._require(name)
        folder = self._folder_or_none(record)
        return record.adapter or (folder is not None and (folder / ADAPTER_CONFIG).is_file())

    def disk(self, campaign_id: str | None) -> DiskReport:
        """Checkpoint bytes from the ledger, and the free space where checkpoints live."""
        records = self.store.ledger.by_campaign(campaign_id) if campaign_id else []
        where = self.realm.checkpoints if self.realm.checkpoints.is_dir() else self.realm.root
        total, _used, free = self._disk_usage(where)
        return DiskReport(sum(r.size_bytes for r in records), len(records), free, total)

    @staticmethod
    def retention_text(retention: Retention) -> str:
        daily = ", plus the last one of each day" if retention.keep_daily else ""
        return f"keeps the champion and the latest {retention.keep_last}{daily}"


def mark_damaged(store: Store, found: dict[str, str]) -> None:
    """Record checkpoints found bad (name → problem) in a writable store's ledger, so listings and
    the next battle know; names the ledger no longer holds are skipped."""
    for name, problem in found.items():
        if name in store.ledger:
            store.ledger.update(name, damaged=problem)
