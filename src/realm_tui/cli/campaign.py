"""`realm campaign …`: start a new campaign, list them, show one, resume one, archive one.

Registered in cli/app.py with `app.add_typer(campaign_app, name="campaign")`. The moves are the
TUI's Campaign desk (`services.campaigns.CampaignDesk`): one campaign is active at a time.
Read-only commands open the store read-only (a battle may hold the writer lock).
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer

from realm_tui.cli.common import console, current_realm, user_errors
from realm_tui.cli.writes import NoWaitOption, WaitOption, run_write
from realm_tui.rules.rewards import campaign_gold

campaign_app = typer.Typer(
    help="Campaigns: start a new one, list them, show one, resume one, archive one.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

STATUS_STYLE = {"active": "bold green", "paused": "yellow", "maxed_out": "magenta", "archived": "dim"}


@campaign_app.command("new")
@user_errors
def campaign_new(
    ctx: typer.Context,
    hero: Annotated[str | None, typer.Option("--hero", help="Hero id (default: the current campaign's).")] = None,
    name: Annotated[str | None, typer.Option("--name", help="A name for the campaign.")] = None,
) -> None:
    """Start a fresh campaign (from the base hero); the active campaign is paused."""
    from realm_tui.config.realm_config import DEFAULT_HERO, load_realm_configs
    from realm_tui.services.campaigns import CampaignDesk
    from realm_tui.services.records import current_campaign
    from realm_tui.store import Store

    realm = current_realm(ctx)
    configs = load_realm_configs(realm.configs)
    with Store.open(realm.store_file) as store:
        current = current_campaign(store)
        hero_config = configs.hero(hero or (current.hero_id if current else DEFAULT_HERO))
        desk = CampaignDesk(realm, store)
        active = desk.active_ids()
        record = desk.new_campaign(hero_config.id, hero_config.name, name=name)
    for pid in active:
        typer.echo(f"paused {pid}")
    typer.echo(f"started {record.id} ({hero_config.id}); `realm train --no-ui` fights its first battle")


@campaign_app.command("list")
@user_errors
def campaign_list(
    ctx: typer.Context,
    show_all: Annotated[bool, typer.Option("--all", "-a", help="Include archived campaigns.")] = False,
) -> None:
    """Every campaign: status, step, skill levels, gold."""
    from rich.table import Table

    from realm_tui.services.records import campaigns_by_age
    from realm_tui.store.snapshot import open_for_reading

    realm = current_realm(ctx)
    with open_for_reading(realm) as store:
        records = campaigns_by_age(store, archived=show_all)
    table = Table(title="Campaigns")
    for column in ("ID", "Hero", "Status", "Step", "Skills", "Gold", "Updated"):
        table.add_column(column, overflow="fold")
    for r in records:
        skills = " ".join(f"{s} {lv}" for s, lv in sorted(r.skill_levels.items())) or "-"
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.updated_at))
        status = f"[{STATUS_STYLE.get(r.status, '')}]{r.status}[/]"
        table.add_row(r.id, r.hero_id, status, str(r.current_step), skills, str(campaign_gold(r)), when)
    console().print(table)


@campaign_app.command("show")
@user_errors
def campaign_show(
    ctx: typer.Context,
    campaign_id: Annotated[str | None, typer.Argument(help="Campaign id or prefix (default: the current one).")] = None,
) -> None:
    """One campaign: status (and why it maxed out), peaks, level transitions, milestones."""
    from rich.table import Table

    from realm_tui.services.records import campaign_report
    from realm_tui.store.snapshot import open_for_reading

    realm = current_realm(ctx)
    with open_for_reading(realm) as store:
        report = campaign_report(store, campaign_id)
    record, champion = report.campaign, report.champion
    out = console()
    out.print(f"[b]{record.id}[/] {record.name} — hero {record.hero_id}, status [b]{record.status}[/]")
    if record.status == "maxed_out":
        reason = next((m.get("reason") for m in reversed(record.milestones) if m.get("kind") == "maxed_out"), None)
        out.print(f"[magenta]Maxed out: {reason or 'level cap found'}[/]")
        out.print(
            f"Archive it (`realm campaign archive {record.id}`), start anew (`realm campaign new`) or "
            "continue from one of its checkpoints with New Game+ (Vault)."
        )
    start = f"from {record.start_checkpoint}" if record.start_checkpoint else "from the base hero"
    out.print(
        f"Step {record.current_step} ({start}); gold {campaign_gold(record)}; quests done {record.quests_completed}"
    )
    out.print(f"Checkpoints: {len(report.checkpoints)}; champion: {champion.name if champion else '-'}")
    levels = ", ".join(f"{s} {lv}" for s, lv in sorted(record.skill_levels.items())) or "none yet"
    out.print(f"Skill levels: {levels}")
    if record.peaks:
        out.print("Peaks: " + ", ".join(f"{k} {_fmt(v)}" for k, v in sorted(record.peaks.items())))
    if record.transitions:
        table = Table(title="Level transitions")
        for column in ("Step", "Skill", "From", "To", "Accuracy", "Effort"):
            table.add_column(column)
        for t in record.transitions:
            table.add_row(
                str(t.get("step")), str(t.get("skill")), str(t.get("from")), str(t.get("to")),
                _fmt(t.get("accuracy")), _fmt(t.get("effort")),
            )  # fmt: skip
        out.print(table)
    if record.milestones:
        table = Table(title="Milestones")
        for column in ("Step", "Kind", "Detail"):
            table.add_column(column, overflow="fold")
        for m in record.milestones:
            detail = m.get("text") or m.get("reason") or " ".join(f"{k}={m[k]}" for k in ("skill", "level") if k in m)
            table.add_row(str(m.get("step", "")), str(m.get("kind")), str(detail))
        out.print(table)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if value < 10 else f"{value:.1f}"
    return "-" if value is None else str(value)


@campaign_app.command("archive")
@user_errors
def campaign_archive(
    ctx: typer.Context,
    campaign_id: Annotated[str, typer.Argument(help="Campaign id or prefix.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    no_wait: NoWaitOption = False,
    wait: WaitOption = 10.0,
) -> None:
    """Close a campaign for good (its record and checkpoints stay readable)."""
    from realm_tui.services.records import require_campaign
    from realm_tui.store.snapshot import open_for_reading

    with open_for_reading(current_realm(ctx)) as store:  # which campaign: asked before any lock
        record = require_campaign(store, campaign_id)
    if not yes and not typer.confirm(f"Archive {record.id} for good?"):
        raise typer.Exit(1)
    run_write(ctx, "campaign.archive", {"campaign": record.id}, no_wait=no_wait, wait_s=wait)


@campaign_app.command("resume")
@user_errors
def campaign_resume(
    ctx: typer.Context,
    campaign_id: Annotated[str, typer.Argument(help="Campaign id or prefix.")],
) -> None:
    """Continue a paused (or maxed-out) campaign; the active campaign is paused (one is active at a time,
    as with `campaign new` and the TUI's Campaign desk)."""
    from realm_tui.services.campaigns import CampaignDesk
    from realm_tui.services.records import require_campaign
    from realm_tui.store import Store

    realm = current_realm(ctx)
    with Store.open(realm.store_file) as store:
        record = require_campaign(store, campaign_id)
        desk = CampaignDesk(realm, store)
        active = [pid for pid in desk.active_ids() if pid != record.id]
        record = desk.resume(record.id)
    for pid in active:
        typer.echo(f"paused {pid}")
    typer.echo(f"resumed {record.id} ({record.hero_id}); `realm train --no-ui` fights its next battle")
