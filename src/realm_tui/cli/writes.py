"""How a write command reaches the store: directly when it is free, as a request when a battle holds it.

Every store-changing command (`quest add/cancel/prioritize/retry/forge`, `vault crown/delete`,
`campaign archive`, `battle pause/resume/stop`) calls :func:`run_write`, which hands the verb to
`services.requests.write` and prints the answer the same way whichever process applied it.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from realm_tui.cli.common import current_realm
from realm_tui.errors import RealmError

NoWaitOption = Annotated[
    bool, typer.Option("--no-wait", help="When a battle holds the store: leave the request, do not wait for it.")
]
WaitOption = Annotated[
    float, typer.Option("--wait", min=0.1, help="Seconds to wait for a running battle to apply the change.")
]


class Refused(RealmError):
    """The writer refused the change: its message, with the use-case's exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.exit_code = code


def run_write(
    ctx: typer.Context, verb: str, args: dict[str, Any], *, no_wait: bool = False, wait_s: float = 10.0
) -> None:
    """Apply ``verb``, print what it did; a refusal is a RealmError (one red line, its exit code)."""
    from realm_tui.services.requests import write

    answer = write(current_realm(ctx), verb, args, wait=not no_wait, wait_s=wait_s)
    for note in answer.notes:
        typer.secho(f"realm: {note}", fg=typer.colors.YELLOW, err=True)
    result = answer.result
    if answer.queued and result.applied_by:
        typer.secho(
            f"realm: a battle holds the store: request {result.id} applied by pid {result.applied_by}", err=True
        )
    for kind, text in result.lines:
        if kind == "out":
            typer.echo(text)
        elif kind == "note":
            typer.secho(text, fg=typer.colors.YELLOW)
        elif kind == "warn":
            typer.secho(text, fg=typer.colors.YELLOW, err=True)
        else:
            typer.secho(text, fg=typer.colors.RED, err=True)
    if result.error:
        raise Refused(result.error, result.code or 1)
    if result.code:
        raise typer.Exit(result.code)
