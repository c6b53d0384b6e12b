"""`realm vault …`: the Vault's checkpoints from the command line (list, export).

Registered in cli/app.py with `app.add_typer(vault_app, name="vault")`. Only typer at module level
(`realm --help` stays torch-free); `export` goes through the same `Vault.export` as the game's
Vault screen, so merging a LoRA adapter runs `realm_tui.trainer.entry.export` in a child process. The
store is opened read-only: exporting works while the game or a headless battle holds it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from realm_tui.cli.common import current_realm, user_errors
from realm_tui.cli.vault_drift import vault_drift
from realm_tui.cli.writes import NoWaitOption, WaitOption, run_write
from realm_tui.errors import InputError, RealmError

if TYPE_CHECKING:
    from realm_tui.store import Store

vault_app = typer.Typer(
    help="The Vault: list, crown and delete checkpoints, export one as a Hugging Face folder (LoRA merged).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

vault_app.command("drift")(vault_drift)


@vault_app.command("list")
@user_errors
def vault_list(ctx: typer.Context) -> None:
    """The current campaign's checkpoints, newest first (★ champion, ◆ latest)."""
    from realm_tui.services.records import current_campaign
    from realm_tui.services.vault import Vault
    from realm_tui.store.snapshot import open_for_reading

    realm = current_realm(ctx)
    with open_for_reading(realm) as store:
        campaign = current_campaign(store)
        rows = Vault(realm, store).rows(campaign.id if campaign else None)
    if not rows:
        typer.echo("no checkpoints yet: a battle saves them every save_steps steps")
        return
    for r in rows:
        mark = "★" if r.champion else ("◆" if r.latest else " ")
        loss = f"{r.train_loss:.4f}" if r.train_loss is not None else "-"
        kind = "adapter" if r.adapter else "full"
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created_at))
        damaged = f"  DAMAGED: {r.damaged}" if r.damaged else ""
        typer.echo(f"{mark} {r.name}  step {r.step}  loss {loss}  {kind}  {r.blessing or 'unjudged'}  {when}{damaged}")


@vault_app.command("crown")
@user_errors
def vault_crown(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A blessed checkpoint (see `realm vault list`).")],
    no_wait: NoWaitOption = False,
    wait: WaitOption = 10.0,
) -> None:
    """Make a blessed checkpoint its campaign's champion (as the game's Vault does)."""
    run_write(ctx, "vault.crown", {"name": name}, no_wait=no_wait, wait_s=wait)


@vault_app.command("delete")
@user_errors
def vault_delete(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Checkpoint name (not the champion, not the latest).")],
    no_wait: NoWaitOption = False,
    wait: WaitOption = 10.0,
) -> None:
    """Delete a checkpoint: its ledger record and its folder."""
    run_write(ctx, "vault.delete", {"name": name}, no_wait=no_wait, wait_s=wait)


@vault_app.command("export")
@user_errors
def vault_export(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Checkpoint name (see `realm vault list`), or champion / latest.")],
    merge: Annotated[
        bool,
        typer.Option("--merge/--no-merge", help="Merge a LoRA adapter into its base (full checkpoints are copied)."),
    ] = True,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Folder to write (default: saves/exports/NAME).")
    ] = None,
) -> None:
    """Write a checkpoint as a plain Hugging Face folder: config, weights, tokenizer."""
    from realm_tui.services.export_child import ExportFailed
    from realm_tui.services.vault import Vault, VaultRefusal
    from realm_tui.store.snapshot import open_for_reading

    realm = current_realm(ctx)
    with open_for_reading(realm) as store:
        name = _resolve(store, name)
        vault = Vault(realm, store)
        dest = output.expanduser().resolve() if output is not None else None
        try:
            merging = merge and vault.is_adapter(name)
            if merging:
                typer.echo(f"merging {name} into its base in a child process …", err=True)
            target = vault.export(name, dest, merge=merge, on_stage=lambda s: typer.echo(f"  {s}", err=True))
        except VaultRefusal as err:
            _mark_damaged(realm.store_file, vault.found_damaged)
            raise InputError(None, str(err)) from None
        except ExportFailed as err:
            raise RealmError(f"export of {name} failed: {err}") from None
    typer.echo(f"{name} {'merged and ' if merging else ''}exported to {target}")


def _mark_damaged(store_file: Path, found: dict[str, str]) -> None:
    """Record checkpoints found bad in the ledger (so `vault list` and the next battle know), when
    no other process holds the store for writing; that writer finds them itself otherwise."""
    from realm_tui.errors import StoreError
    from realm_tui.services.vault import mark_damaged
    from realm_tui.store import Store

    if not found:
        return
    try:
        with Store.open(store_file) as store:
            mark_damaged(store, found)
    except StoreError:
        pass  # the game or a battle holds it: it verifies before any use all the same


def _resolve(store: Store, name: str) -> str:
    """`champion` / `latest` of the current campaign, else the name as given."""
    from realm_tui.services.records import named_checkpoint

    if name not in ("champion", "latest"):
        return name
    found = named_checkpoint(store, name)
    if found is None:
        raise InputError(None, f"the current campaign has no {name} checkpoint")
    return found.name
