"""How strict the quest board is: validation levels, retries, write settling and archive limits.

Loaded from the optional `configs/quests.yaml` of a realm (every field has a default, so the file
may be absent or list only what it changes). The model lives in config/ with every other YAML
model, so `realm validate` checks the file without config/ reaching up into quests/; the board
reads it through `realm_tui.quests.policy`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from realm_tui.config.loader import ExactModel, load_model
from realm_tui.paths import RealmPaths

TooLong = Literal["truncate", "reject", "keep"]

POLICY_FILE = "quests.yaml"
"""File name of the policy inside a realm's `configs/`."""

MIB = 1024 * 1024


class ArchiveLimits(ExactModel):
    """Bounds on a quest module being installed (zip or folder); counted on real bytes."""

    max_entries: int = Field(default=2000, ge=1)
    """Files and folders a module may hold."""
    max_total_bytes: int = Field(default=256 * MIB, ge=1)
    """Bytes of all files together once decompressed."""
    max_file_bytes: int = Field(default=64 * MIB, ge=1)
    """Bytes of any one file once decompressed."""
    max_depth: int = Field(default=8, ge=1)
    """Folder nesting below the module root."""
    max_name_length: int = Field(default=255, ge=8)
    """Characters in one path component."""
    max_ratio: int = Field(default=100, ge=1)
    """Largest decompressed/compressed size ratio of a zip, per entry and for the whole archive,
    claimed in the headers and counted on the real bytes (JSONL compresses about 5-20×; deflate
    tops out near 1030×, which is what a zip bomb uses)."""


class QuestPolicy(ExactModel):
    """Validation and board rules for quest files."""

    max_tokens: int | None = Field(default=None, ge=8)
    """Longest example in tokens; None: the hero's `training_defaults.max_length`."""
    too_long: TooLong = "truncate"
    """An example over max_tokens: `truncate` drops trailing turns until it fits (ending on an
    answer; rejected when even the first exchange is too long), `reject` drops the line, `keep`
    keeps it as is (the trainer cuts it)."""
    reject_duplicates: bool = True
    """A line whose messages repeat an earlier line's exactly is dropped."""
    repetition_min_bytes: int = Field(default=200, ge=16)
    """Answers at least this long (UTF-8 bytes) are checked for looping text."""
    repetition_max_ratio: float = Field(default=0.1, gt=0, le=1)
    """An answer compressing below this share of its size (zlib) is degenerate (a loop)."""
    max_word_run: int = Field(default=10, ge=2)
    """The same word this many times in a row in an answer marks it degenerate."""
    max_line_bytes: int = Field(default=16 * MIB, ge=1024)
    """A longer line is rejected without being parsed."""
    max_invalid_share: float = Field(default=0.1, ge=0, le=1)
    """A quest with more invalid lines than this share of its (non-blank) lines is refused whole
    (to `failed/`, with every reason); up to it, the invalid lines are left out and the rest queued."""
    max_retries: int = Field(default=3, ge=0)
    """Times a quest that failed in battle is queued again (at low priority) before it stays failed."""
    settle_seconds: float = Field(default=2.0, ge=0)
    """A new inbox file younger than this waits for a second look with unchanged size and mtime."""
    archive: ArchiveLimits = Field(default_factory=ArchiveLimits)
    """Limits on quest modules being installed."""


def load_quest_policy(realm: RealmPaths) -> QuestPolicy:
    """The realm's `configs/quests.yaml`, or the defaults when there is none."""
    path = realm.configs / POLICY_FILE
    if not path.exists():
        return QuestPolicy()
    return load_model(path, QuestPolicy)
