"""The request folder ``saves/requests/``: one atomic JSON file per request, one per answer.

A process that may not write the store (a battle holds its writer lock) writes a request file
here; the writer reads it, applies it and writes the answer to ``done/<id>.json``. Everything is
written as temp file + fsync + ``os.replace``, so a reader sees a whole file or none. Temp files
start with a dot and are never listed as requests. A file that cannot be a request (garbage, too
big, a link, an unknown verb, a path leading out of the realm) is moved to ``rejected/`` with the
reason beside it. Only os/json: the verbs live in :mod:`realm_tui.services.requests`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import stat
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from realm_tui.confine import confined
from realm_tui.errors import InputError
from realm_tui.paths import RealmPaths

MAX_BYTES = 64 * 1024
"""A request is a few hundred bytes; anything over this is refused unread."""
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,100}\.json$")
ANSWER_KEPT_S = 24 * 3600.0
"""An answer nobody came for (`--no-wait`) is removed after this long."""
MAX_TEXT = 500
"""The longest string argument a request may carry."""
ID_TEXT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:+@-]{0,199}$")
"""A quest, checkpoint, campaign, hero or skill id: no slash, no leading dot (never a path)."""


class Id(str):
    """Marks an id argument in a verb's spec (checked against :data:`ID_TEXT`)."""


Spec = dict[str, type | frozenset[str]]
"""A verb's arguments: a type (`str`, `int`, `Id`, `Path`: a realm path) or the allowed values."""


def done_dir(realm: RealmPaths) -> Path:
    return realm.requests / "done"


def rejected_dir(realm: RealmPaths) -> Path:
    return realm.requests / "rejected"


def staged_dir(realm: RealmPaths) -> Path:
    """Files a request carries (a quest file to add), copied into the realm by the requester."""
    return realm.requests / "files"


@dataclass(frozen=True)
class Request:
    id: str
    verb: str
    args: dict[str, Any]
    created: float
    pid: int


@dataclass(frozen=True)
class Result:
    """What the writer answered; ``lines`` are (kind, text): ``out``, ``note`` on stdout, ``warn``,
    ``err`` on stderr, as the command would have printed them had it written the store itself."""

    id: str
    verb: str
    ok: bool
    lines: list[tuple[str, str]] = field(default_factory=list)
    error: str = ""
    code: int = 0
    applied_by: int = 0
    applied_at: float = 0.0

    def summary(self) -> str:
        """One line for the battle log."""
        said = self.error or next((t for k, t in self.lines if k == "out"), "") or "done"
        return f"request {self.verb} ({self.id}): {'' if self.ok else 'refused: '}{said.strip()}"


def new_id() -> str:
    return f"{time.time_ns()}-{os.getpid()}-{secrets.token_hex(3)}"


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def write_request(realm: RealmPaths, verb: str, args: dict[str, Any], request_id: str | None = None) -> Request:
    request = Request(request_id or new_id(), verb, dict(args), time.time(), os.getpid())
    write_atomic(realm.requests / f"{request.id}.json", json.dumps(asdict(request)))
    return request


def pending(realm: RealmPaths) -> list[str]:
    """Names of the request files waiting, oldest first (one directory listing; [] if no folder)."""
    try:
        with os.scandir(realm.requests) as entries:
            names = [e.name for e in entries if not e.name.startswith(".") and e.name.endswith(".json")]
    except OSError:
        return []
    return sorted(names)


def has_pending(realm: RealmPaths) -> bool:
    return bool(pending(realm))


def read_request(realm: RealmPaths, name: str, verbs: dict[str, Spec]) -> Request:
    """Parse and check one request file; an :class:`InputError` names the file and the problem."""
    path = realm.requests / name
    if not NAME.match(name):
        raise InputError(path, "not a request file name (letters, digits, - and _ then .json)")
    info = path.lstat()
    if not stat.S_ISREG(info.st_mode):
        raise InputError(path, "not a plain file (a link?): refused unread")
    if info.st_size > MAX_BYTES:
        raise InputError(path, f"{info.st_size} bytes: over the {MAX_BYTES} bytes a request may have")
    try:
        data = json.loads(path.read_bytes()[: MAX_BYTES + 1])
    except (UnicodeDecodeError, ValueError) as err:
        raise InputError(path, f"not JSON: {err}") from None
    if not isinstance(data, dict):
        raise InputError(path, "not a JSON object")
    verb, args = data.get("verb"), data.get("args", {})
    if not isinstance(verb, str) or verb not in verbs:
        raise InputError(path, f"unknown verb {str(verb)[:40]!r} (known: {', '.join(sorted(verbs))})")
    if not isinstance(args, dict):
        raise InputError(path, "args must be a JSON object")
    _check_args(realm, path, verb, args, verbs[verb])
    created, pid = data.get("created"), data.get("pid")
    return Request(
        name[: -len(".json")],
        verb,
        args,
        float(created) if isinstance(created, int | float) else info.st_mtime,
        pid if isinstance(pid, int) else 0,
    )


def _check_args(realm: RealmPaths, path: Path, verb: str, args: dict[str, Any], spec: Spec) -> None:
    for key, value in args.items():
        if key not in spec:
            raise InputError(path, f"{verb} takes no argument {str(key)[:40]!r}")
        kind = spec[key]
        if value is None:
            continue
        if isinstance(kind, frozenset):
            if value not in kind:
                raise InputError(path, f"{verb}: {key} must be one of {', '.join(sorted(kind))}")
        elif kind is Id:
            if not isinstance(value, str) or not ID_TEXT.match(value):
                raise InputError(path, f"{verb}: {key} {str(value)[:40]!r} is not an id (letters, digits, _.:+@-)")
        elif kind is int and (not isinstance(value, int) or isinstance(value, bool)):
            raise InputError(path, f"{verb}: {key} must be a whole number")
        if kind in (str, Path):
            if not isinstance(value, str) or len(value) > MAX_TEXT:
                raise InputError(path, f"{verb}: {key} must be a text of at most {MAX_TEXT} characters")
            if kind is Path:  # a file the request points to stays inside the realm
                confined(realm.root, value, source=path, what=f"{verb} {key}")


def reject(realm: RealmPaths, name: str, why: str) -> Path:
    """Move a refused request aside (with its reason beside it); never raises."""
    folder = rejected_dir(realm)
    target = folder / name
    with contextlib.suppress(OSError):
        folder.mkdir(parents=True, exist_ok=True)
        os.replace(realm.requests / name, target)
        (folder / f"{name}.why.txt").write_text(why + "\n", encoding="utf-8")
    return target


def write_result(realm: RealmPaths, result: Result, name: str) -> None:
    write_atomic(done_dir(realm) / f"{result.id}.json", json.dumps(asdict(result)))
    with contextlib.suppress(FileNotFoundError):
        (realm.requests / name).unlink()


def take_result(realm: RealmPaths, request_id: str) -> Result | None:
    """The answer to ``request_id`` (removed once read), or None while there is none."""
    path = done_dir(realm) / f"{request_id}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        raise InputError(path, f"the answer cannot be read: {err}") from None
    with contextlib.suppress(OSError):
        path.unlink()
    lines = [(str(k), str(t)) for k, t in data.get("lines", [])]
    return Result(
        str(data.get("id", request_id)),
        str(data.get("verb", "")),
        bool(data.get("ok")),
        lines,
        str(data.get("error", "")),
        int(data.get("code", 0)),
        int(data.get("applied_by", 0)),
        float(data.get("applied_at", 0.0)),
    )


def was_rejected(realm: RealmPaths, request_id: str) -> str | None:
    """Why the writer refused ``request_id`` unread (moved to rejected/), or None."""
    why = rejected_dir(realm) / f"{request_id}.json.why.txt"
    try:
        return why.read_text(encoding="utf-8").strip()
    except OSError:
        return None


def prune_answers(realm: RealmPaths, older_than_s: float = ANSWER_KEPT_S) -> None:
    """Remove answers nobody read (a `--no-wait` request's); one listing, never raises."""
    limit = time.time() - older_than_s
    with contextlib.suppress(OSError), os.scandir(done_dir(realm)) as entries:
        for entry in entries:
            with contextlib.suppress(OSError):
                if entry.is_file(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_mtime < limit:
                    os.unlink(entry.path)
