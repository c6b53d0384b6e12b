"""A whisper school's teacher, parent side: a model folder, or a hero of this realm whose
checkpoints the store knows. The school names and options themselves are checked by
`realm_tui.contract.school_options` (both sides use them).
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING

from realm_tui.errors import InputError

if TYPE_CHECKING:
    from realm_tui.store import CheckpointRecord, Store


def check_teacher_folder(teacher: str | Path) -> Path:
    """The teacher must be a folder holding a model (config.json) or an adapter, and a tokenizer."""
    path = Path(teacher).expanduser()
    if not path.is_dir():
        raise InputError(
            path, "whisper teacher not found: name a checkpoint, a Hugging Face model folder or a hero id of this realm"
        )
    if not ((path / "config.json").is_file() or (path / "adapter_config.json").is_file()):
        raise InputError(path, "not a model folder (no config.json or adapter_config.json): whisper needs a teacher")
    if not (path / "tokenizer.json").is_file() and not (path / "tokenizer_config.json").is_file():
        raise InputError(path, "the teacher folder has no tokenizer; whisper compares it with the hero's")
    return path.resolve()


def _is_model_folder(path: Path) -> bool:
    return (path / "config.json").is_file() or (path / "adapter_config.json").is_file()


def teacher_hero(teacher: str, hero_ids: Collection[str]) -> str | None:
    """The hero id `teacher` names (`--teacher flo`), or None when it is a folder to load.

    A model folder of that name in the current folder wins over the hero (the older meaning)."""
    if teacher not in hero_ids or _is_model_folder(Path(teacher).expanduser()):
        return None
    return teacher


def hero_teacher_folder(realm_root: Path, store: Store, hero_id: str) -> Path:
    """The checkpoint folder a hero teaches from: the champion of its active (else most recent)
    campaign, else that campaign's latest checkpoint, else its newest checkpoint of any campaign;
    only folders that still verify. One InputError when the hero has none."""
    from realm_tui.contract.manifest import is_valid_checkpoint

    campaigns = store.campaigns.by_hero(hero_id)
    current = store.campaigns.active(hero_id) or (max(campaigns, key=lambda c: c.updated_at) if campaigns else None)
    records = sorted(store.ledger.all(), key=lambda r: (r.created_at, r.step), reverse=True)
    mine = [r for r in records if r.hero_id == hero_id]

    def rank(record: CheckpointRecord) -> tuple[int, int]:
        here = current is not None and record.campaign_id == current.id
        return (0 if here else 1, 0 if record.champion and here else 1)

    from realm_tui.confine import checkpoint_folder
    from realm_tui.paths import RealmPaths

    for record in sorted(mine, key=rank):  # stable: newest first inside each rank
        try:  # a ledger path leading out of the checkpoints folder is never read
            folder = checkpoint_folder(RealmPaths(realm_root), record.path)
        except InputError:
            continue
        if not record.damaged and is_valid_checkpoint(folder):
            return folder
    raise InputError(
        None,
        f"whisper: hero {hero_id!r} has no checkpoint to teach from (train it first, or pass "
        "--teacher with a checkpoint or model folder)",
    )
