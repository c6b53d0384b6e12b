"""`realm doctor --repair`: put the newest good backup of a refused store file back in place.

Opening never repairs a store file that exists but cannot be used (``{}``, garbage, a truncated
file, a folder …): it refuses, so that nothing committed is silently replaced. Repairing is an
explicit act: the writer lock is taken (no battle may be running), the bad file (or folder) is
moved aside to ``realm.json.corrupt-…`` (kept, never deleted), and the newest good version —
``.bak`` or a generation in ``backups/`` — is copied into place.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from realm_tui.errors import StoreError
from realm_tui.store.lock import StoreLock
from realm_tui.store.storage import (
    Unreadable,
    backup_path,
    copy_synced,
    corrupt_path,
    fsync_dir,
    generations_dir,
    newest_good_backup,
    read_document,
    temp_prefix,
)


@dataclass(frozen=True)
class RepairReport:
    repaired: bool
    message: str


def store_problem(path: Path) -> str | None:
    """Why the store file at ``path`` cannot be used (None: it is good, or absent)."""
    try:
        read_document(path)
    except FileNotFoundError:
        return None
    except Unreadable as err:
        return str(err)
    return None


def repair_store(path: Path) -> RepairReport:
    """Restore the newest good backup over a bad (or missing) store file, saying which."""
    path = Path(path)
    with StoreLock(path):
        problem = store_problem(path)
        missing = not path.exists() and not path.is_symlink()
        if problem is None and not missing:
            return RepairReport(False, f"{path} is good: nothing to repair")
        source = newest_good_backup(path)
        if source is None:
            if missing:
                return RepairReport(False, f"{path} does not exist and there is no backup: a new realm")
            raise StoreError(
                f"{path} cannot be used ({problem}) and no backup can be read "
                f"({backup_path(path)}, {generations_dir(path)}/): nothing to restore from"
            )
        aside = None
        if not missing:
            aside = corrupt_path(path)
            os.replace(path, aside)  # a folder moves aside just the same
            fsync_dir(path.parent)
        copy_synced(source, path, temp_prefix(path))
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(source.stat().st_mtime))
        kept = f"; the bad one is kept as {aside.name}" if aside is not None else ""
        why = f"was refused ({problem})" if problem else "was missing"
        return RepairReport(True, f"{path} {why}: restored {source} (saved {when}){kept}")
