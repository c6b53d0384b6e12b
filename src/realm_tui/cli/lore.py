"""`realm lore [TERM]`: the game's vocabulary. Without a term, every entry (term, icon, label,
tooltip); with one, its longer text. An unknown term exits 2 with the closest spellings.

Registered in cli/app.py with `app.command("lore")(lore_command)`. Only typer at module level.
"""

from __future__ import annotations

from typing import Annotated

import typer

from realm_tui.cli.common import user_errors
from realm_tui.errors import InputError


@user_errors
def lore_command(
    ctx: typer.Context,
    term: Annotated[
        str | None, typer.Argument(help="A term (key, label or alias: zone.recovery, ATK, cursed).")
    ] = None,
) -> None:
    """List the game's terms with their tooltips, or explain one term."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from realm_tui.config.lore import lore

    book = lore()
    console = Console()
    if term is None:
        table = Table(title="realm lore", show_lines=False)
        table.add_column("Term", no_wrap=True)
        table.add_column("Icon", no_wrap=True)
        table.add_column("Label", no_wrap=True)
        table.add_column("Tooltip", overflow="fold")
        for key, entry in book.terms.items():
            table.add_row(key, entry.icon, escape(entry.label), escape(entry.tooltip))
        console.print(table)
        return
    keys = book.find(term)
    if not keys:
        close = book.close_to(term)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else "; `realm lore` lists every term"
        raise InputError(None, f"no lore for {term!r}{hint}")
    for key in keys:
        entry = book.terms[key]
        console.print(f"{entry.icon} [b]{escape(entry.label)}[/] [dim]({key})[/]")
        console.print(escape(entry.tooltip), style="italic")
        console.print(escape(entry.text), highlight=False)
        if key != keys[-1]:
            console.print()
