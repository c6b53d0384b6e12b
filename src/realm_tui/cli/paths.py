"""`realm paths`: the paths a campaign can follow (a technique in a domain), and which one it does.

Registered in cli/app.py with `app.command("paths")(paths_command)`. Only typer at module level.
"""

from __future__ import annotations

from typing import Annotated

import typer

from realm_tui.cli.common import console, current_realm, user_errors


@user_errors
def paths_command(
    ctx: typer.Context,
    hero: Annotated[
        str | None, typer.Option("--hero", help="Check the paths against this hero's memory profile.")
    ] = None,
) -> None:
    """List the paths (TECHNIQUE@DOMAIN) for `realm train --no-ui --path` and the Armory."""
    from rich.markup import escape
    from rich.table import Table

    from realm_tui.config.path_book import DEFAULT_PATH_LABEL
    from realm_tui.config.realm_config import DEFAULT_HERO, load_realm_configs
    from realm_tui.services.paths import followed_path, path_label, path_rows
    from realm_tui.services.records import current_campaign
    from realm_tui.store.snapshot import open_for_reading

    realm = current_realm(ctx)
    configs = load_realm_configs(realm.configs)
    with open_for_reading(realm) as store:
        campaign = current_campaign(store)
        followed = followed_path(store)
    hero_id = hero or (campaign.hero_id if campaign and campaign.hero_id in configs.heroes else DEFAULT_HERO)
    rows = path_rows(configs, hero_id)
    if not rows:
        typer.echo(
            f"no paths in {realm.configs}: add configs/domains/, physics/, techniques/ and paths.yaml "
            "(`realm init --force` copies the defaults); battles follow the default path"
        )
        return
    table = Table(title=f"Paths (▶: followed now; ✓/✖: can hero {hero_id} follow it?)")
    table.add_column("Now", no_wrap=True)
    table.add_column("Path", no_wrap=True)  # the id to type: never folded
    table.add_column("Technique", ratio=3)
    table.add_column("Physics", ratio=2)
    table.add_column("Skills", no_wrap=True)
    table.add_column(hero_id, no_wrap=True)
    refusals: dict[str, str] = {}
    # The default path first: what a campaign without --path follows (the hero's own settings).
    defaults = configs.hero(hero_id).training_defaults
    own = [sid.upper() for sid, s in configs.curriculum.skills.items() if s.enabled]
    table.add_row(
        "▶" if followed is None else "",
        DEFAULT_PATH_LABEL,
        "the hero's own training_defaults\n[dim]in curriculum.yaml's mix[/]",
        f"{escape(defaults.optimizer)} · lr {defaults.learning_rate:g} (the hero's)",
        " ".join(own),
        "[green]✓[/]",
    )
    for r in rows:
        mark = "▶" if r.id == followed else ""
        verdict = "[red]✖[/]" if r.refused else "[green]✓[/]"
        if r.refused:
            refusals.setdefault(r.technique_name, r.refused)
        technique = f"{r.icon} {escape(r.technique)} ({escape(r.technique_name)})\n[dim]suits {escape(r.suits)}[/]"
        table.add_row(mark, r.id, technique, escape(r.physics), " ".join(s.upper() for s in r.skills), verdict)
    out = console()
    out.print(table)
    for name, why in refusals.items():
        out.print(f"[red]✖[/] {escape(name)}: {escape(why)}")
    who = f"campaign {campaign.id}" if campaign else "a new campaign"
    out.print(
        f"{who} follows: [b]{escape(path_label(followed))}[/]"
        + (" (the hero's own training_defaults in curriculum.yaml's mix)" if followed is None else "")
    )
    out.print("Follow one: realm train --no-ui --path TECHNIQUE@DOMAIN (or pick it in the Armory)")
