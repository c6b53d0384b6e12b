"""User-facing errors: each carries one clear message and the exit code the CLI uses."""

from __future__ import annotations

from pathlib import Path


class RealmError(Exception):
    """An error the user can act on; the CLI prints `str(err)` without a traceback."""

    exit_code = 1


class InputError(RealmError):
    """Bad input the user supplied: a file, a path, a value. Exit code 2."""

    exit_code = 2

    def __init__(self, path: Path | str | None, problem: str) -> None:
        self.path = Path(path) if path is not None else None
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path is not None else problem)


class ConfigError(InputError):
    """A config file that cannot be used: names the file, the field and what was expected."""


class StoreError(RealmError):
    """The store cannot be opened or written (locked by another writer, unreadable)."""


class RealmNotFound(RealmError):
    """No realm folder could be resolved."""

    exit_code = 2
