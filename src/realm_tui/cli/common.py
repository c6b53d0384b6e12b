"""What every `realm` command shares: the global options, the realm they choose, one error handler.

The root callback (cli/app.py) puts a `GlobalOptions` on typer's context object; a command takes
`ctx: typer.Context` and reads it back with `current_realm(ctx)` / `options_of(ctx)` (no module
global). A sub-app run alone (tests run `quest_app` by itself) gets the defaults: `REALM_HOME`,
else the current folder.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from realm_tui.errors import RealmError
from realm_tui.paths import RealmPaths, resolve_realm

if TYPE_CHECKING:
    from rich.console import Console

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class GlobalOptions:
    """`realm --home DIR --debug …`: set by the root callback, read by every command."""

    home: Path | None = None
    debug: bool = False

    def realm(self) -> RealmPaths:
        return resolve_realm(self.home)


def options_of(ctx: typer.Context | None) -> GlobalOptions:
    """The options of the running `realm` command (the defaults when no root callback ran)."""
    found = ctx.find_object(GlobalOptions) if ctx is not None else None
    return found if found is not None else GlobalOptions()


def current_realm(ctx: typer.Context) -> RealmPaths:
    """The realm chosen by `--home` / REALM_HOME / the current folder."""
    return options_of(ctx).realm()


def user_errors(fn: F) -> F:
    """A RealmError becomes one red line on stderr and its exit code (a traceback with --debug).

    The command takes `ctx: typer.Context` (typer passes it by name) so --debug can be read."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except RealmError as err:
            ctx = next((v for v in (*args, *kwargs.values()) if isinstance(v, typer.Context)), None)
            if options_of(ctx).debug:
                raise
            say_error(err)
            raise typer.Exit(err.exit_code) from None

    return wrapper  # type: ignore[return-value]


def say_error(err: RealmError) -> None:
    typer.secho(f"realm: {err}", fg=typer.colors.RED, err=True)


def warn(text: str) -> None:
    """A yellow `realm: warning: …` line on stderr."""
    typer.secho(f"realm: warning: {text}", fg=typer.colors.YELLOW, err=True)


def console() -> Console:
    """A rich console (rich is imported only by the commands that print tables)."""
    from rich.console import Console

    return Console()
