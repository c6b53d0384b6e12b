"""The TinyDB document store ``saves/realm.json``: crash-safe, one writer, typed repositories.

Only the parent process (UI or headless runner) opens it for writing::

    with Store.open(paths.store_file) as store:
        store.ledger.upsert(CheckpointRecord(...))

The package imports neither torch nor textual.
"""

from realm_tui.errors import StoreError
from realm_tui.store.db import SCHEMA_VERSION, Store, open_store
from realm_tui.store.lock import StoreLock, read_holder_pid
from realm_tui.store.records import (
    CAMPAIGN_STATUSES,
    QUEST_PRIORITIES,
    QUEST_STATES,
    AchievementRecord,
    CampaignRecord,
    CampaignStatus,
    CheckpointRecord,
    EvalRecord,
    EventRecord,
    HeroRecord,
    QuestPriority,
    QuestRecord,
    QuestState,
    Record,
    now,
)
from realm_tui.store.repository_base import DuplicateRecord, InvalidRecord, RecordNotFound
from realm_tui.store.storage import SafeJSONStorage, backup_path

__all__ = [
    "CAMPAIGN_STATUSES",
    "QUEST_PRIORITIES",
    "QUEST_STATES",
    "SCHEMA_VERSION",
    "AchievementRecord",
    "CampaignRecord",
    "CampaignStatus",
    "CheckpointRecord",
    "DuplicateRecord",
    "EvalRecord",
    "EventRecord",
    "HeroRecord",
    "InvalidRecord",
    "QuestPriority",
    "QuestRecord",
    "QuestState",
    "Record",
    "RecordNotFound",
    "SafeJSONStorage",
    "Store",
    "StoreError",
    "StoreLock",
    "backup_path",
    "now",
    "open_store",
    "read_holder_pid",
]
