"""The one check for a path read from the store, a manifest or an index: it stays in its folder.

A ledger record, a checkpoint manifest or a `model.safetensors.index.json` is data someone could
have edited. Before anything is read, copied or deleted through such a path, :func:`confined`
checks it: relative, no `..`, not empty, and — resolved, symlinks followed — strictly inside the
folder it belongs to. Anything else is an :class:`InputError` naming the file it came from.
Pure (os/pathlib only): the parent, the CLI and the trainer all use it.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath, PureWindowsPath

from realm_tui.errors import InputError
from realm_tui.paths import RealmPaths


def confined(
    base: Path,
    relative: str | PurePosixPath,
    *,
    within: Path | None = None,
    source: Path | str | None = None,
    what: str = "path",
) -> Path:
    """``base / relative``, refused unless it stays strictly inside ``within`` (default ``base``).

    ``source``: the file the path was read from (named in the error); ``what``: what the path is."""
    text = str(relative).replace("\\", "/")
    limit = Path(within if within is not None else base)

    def refuse(why: str) -> InputError:
        return InputError(source, f"{what} {text!r} {why}: refused (it must stay inside {limit})")

    pure = PurePosixPath(text)
    if not text or text in (".", "./"):
        raise refuse("is empty")
    if pure.is_absolute() or PureWindowsPath(text).is_absolute() or PureWindowsPath(text).drive:
        raise refuse("is absolute")
    if ".." in pure.parts:
        raise refuse("climbs out with '..'")
    target = Path(base) / pure
    resolved, inside = target.resolve(), limit.resolve()
    if resolved == inside or not resolved.is_relative_to(inside):
        raise refuse(f"leads to {resolved} (a link out?)")
    return target


def checkpoint_folder(realm: RealmPaths, record_path: str) -> Path:
    """The folder of a ledger record (its `path` is relative to the realm root), refused unless it
    lies inside the realm's checkpoints folder (the store file is named as the source)."""
    return confined(realm.root, record_path, within=realm.checkpoints, source=realm.store_file, what="checkpoint path")
