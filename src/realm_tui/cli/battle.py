"""`realm battle pause|resume|stop`: steer the battle running in another process (a headless one).

The battle holds the store; these commands leave it a request (`services.requests`) and print its
answer once its loop has turned it into the command (pause at the next step boundary, resume,
stop after saving a checkpoint). With no battle running they say so.
"""

from __future__ import annotations

import typer

from realm_tui.cli.common import user_errors
from realm_tui.cli.writes import NoWaitOption, WaitOption, run_write

battle_app = typer.Typer(
    help="Steer the battle running in another process: pause, resume or stop it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@battle_app.command("pause")
@user_errors
def pause(ctx: typer.Context, no_wait: NoWaitOption = False, wait: WaitOption = 10.0) -> None:
    """Pause the running battle at its next step boundary."""
    run_write(ctx, "battle.pause", {}, no_wait=no_wait, wait_s=wait)


@battle_app.command("resume")
@user_errors
def resume(ctx: typer.Context, no_wait: NoWaitOption = False, wait: WaitOption = 10.0) -> None:
    """Resume a paused battle."""
    run_write(ctx, "battle.resume", {}, no_wait=no_wait, wait_s=wait)


@battle_app.command("stop")
@user_errors
def stop(ctx: typer.Context, no_wait: NoWaitOption = False, wait: WaitOption = 10.0) -> None:
    """Stop the running battle: it saves a checkpoint at the next step boundary, then ends."""
    run_write(ctx, "battle.stop", {}, no_wait=no_wait, wait_s=wait)
