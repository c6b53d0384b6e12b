"""The `archaeology` table: per-layer weight statistics and drifts, cached by checkpoint hash.

Computing them reads every weight of a checkpoint in a child process; the answer depends only on
the weights, so it is kept under a key made of the weight files' sha256 (see
`realm_tui.services.archaeology.weights_key`) and never goes stale: a changed file is a new key.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from realm_tui.store.records import Record, now
from realm_tui.store.repository_base import KeyedRepository

ArchaeologyKind = Literal["stats", "drift"]


class ArchaeologyRecord(Record):
    """One cached answer of the archaeology child."""

    id: str = Field(min_length=1)
    """`stats:<weights key>` or `drift:<older key>:<newer key>`."""
    kind: ArchaeologyKind
    result: dict[str, Any] = Field(default_factory=dict)
    """The child's JSON answer (plain JSON values only)."""
    created_at: float = Field(default_factory=now)


class ArchaeologyCache(KeyedRepository[ArchaeologyRecord]):
    table_name = "archaeology"
    record_type = ArchaeologyRecord
