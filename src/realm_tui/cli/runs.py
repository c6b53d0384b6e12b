"""`realm runs`: where the battles' TensorBoard event files are, and the command that opens them.

Registered in cli/app.py with `app.command("runs")(runs_command)`. Only typer at module level.
"""

from __future__ import annotations

import importlib.util
import shlex
import time

import typer

from realm_tui.cli.common import current_realm, user_errors


@user_errors
def runs_command(ctx: typer.Context) -> None:
    """Print the TensorBoard runs folder (one run per campaign) and the command to open it."""
    from realm_tui.battle.tensorboard_sink import runs_dir

    root = runs_dir(current_realm(ctx))
    runs = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    typer.echo(f"TensorBoard runs: {root}")
    if not runs:
        typer.echo("no runs yet: every battle writes its event files into saves/runs/<campaign>/")
    for run in runs:
        files = list(run.glob("events.out.tfevents.*"))
        size = sum(f.stat().st_size for f in files)
        newest = max((f.stat().st_mtime for f in files), default=run.stat().st_mtime)
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(newest))
        typer.echo(f"  {run.name}  {len(files)} battle(s)  {size / 1024:.0f} KiB  last {when}")
    typer.echo(f"Open them with: tensorboard --logdir {shlex.quote(str(root))}")
    if importlib.util.find_spec("tensorboard") is None:
        typer.echo("(TensorBoard is not installed here: pip install tensorboard)")
