"""`realm quest …`: the Quest Board from the command line.

Registered in cli/app.py with `app.add_typer(quest_app, name="quest")`. Heavy imports stay inside the
commands; each command opens the store for writing only while it runs.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from realm_tui.cli.common import current_realm, user_errors, warn
from realm_tui.cli.writes import NoWaitOption, WaitOption, run_write

if TYPE_CHECKING:
    from realm_tui.config.hero import HeroConfig
    from realm_tui.paths import RealmPaths
    from realm_tui.quests.board import Board
    from realm_tui.store import QuestRecord, Store

quest_app = typer.Typer(
    help="The Quest Board: add, list, show, retry, cancel, prioritize, validate and forge quests.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class Priority(StrEnum):
    high = "high"
    normal = "normal"
    low = "low"


class StateChoice(StrEnum):
    inbox = "inbox"
    queued = "queued"
    processing = "processing"
    done = "done"
    failed = "failed"
    cancelled = "cancelled"


STATE_STYLE = {
    "queued": "cyan",
    "processing": "bold yellow",
    "done": "green",
    "failed": "red",
    "cancelled": "dim",
    "inbox": "magenta",
}


def resolve_hero(realm: RealmPaths, store: Store | None, hero_id: str | None) -> HeroConfig | None:
    """`--hero`, else the active campaign's hero, else the default hero; None (and a warning) if it
    cannot load. The hero gives the token limit quests are checked against."""
    from realm_tui.services.heroes import hero_for_limits

    found = hero_for_limits(realm, store, hero_id)
    if found.warning:
        warn(found.warning)
    return found.hero


@contextmanager
def open_board(realm: RealmPaths, hero_id: str | None = None) -> Iterator[Board]:
    """The realm's board over the store, open for writing only inside the `with`."""
    from realm_tui.quests.board import board_for
    from realm_tui.store import Store

    with Store.open(realm.store_file) as store:
        for warning in store.warnings:
            typer.secho(f"realm: {warning}", fg=typer.colors.YELLOW, err=True)  # not a `warn`: no "warning:"
        yield board_for(realm, store, resolve_hero(realm, store, hero_id))


def _when(stamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp))


def _examples(record: QuestRecord) -> str:
    validation = record.report.get("validation")
    return str(validation.get("valid", "")) if isinstance(validation, dict) else ""


def _say(record: QuestRecord, verb: str) -> None:
    typer.echo(f"{verb} {record.id}: {record.state} ({record.priority}) {record.path}")
    if record.state == "failed" and record.reasons:
        typer.secho(f"  {record.reasons[-1]}", fg=typer.colors.RED, err=True)


HeroOption = Annotated[str | None, typer.Option("--hero", help="Hero whose max length applies (default: active).")]


@quest_app.command("add")
@user_errors
def add(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Chat JSONL quest file to copy into the queue.")],
    priority: Annotated[Priority, typer.Option("--priority", "-p", help="Queue priority.")] = Priority.normal,
    hero: HeroOption = None,
    no_wait: NoWaitOption = False,
    wait: WaitOption = 10.0,
) -> None:
    """Validate FILE and copy its valid lines into the queue (the file itself is left as is).

    While a battle holds the store, the battle applies it (a request; see `realm battle`)."""
    args = {"file": str(file.expanduser().absolute()), "priority": priority.value, "hero": hero}
    run_write(ctx, "quest.add", args, no_wait=no_wait, wait_s=wait)


@quest_app.command("list")
@user_errors
def list_quests(
    ctx: typer.Context,
    state: Annotated[StateChoice | None, typer.Option("--state", help="Only quests in this state.")] = None,
    show_all: Annotated[bool, typer.Option("--all", "-a", help="Include done and cancelled quests.")] = False,
    hero: HeroOption = None,
) -> None:
    """Pick up the inbox, then list the board in queue order."""
    from rich.console import Console
    from rich.table import Table

    from realm_tui.quests.board import Board, ScanResult
    from realm_tui.store.lock import StoreBusy
    from realm_tui.store.snapshot import open_for_reading

    realm = current_realm(ctx)
    busy = None
    try:
        with open_board(realm, hero) as board:
            scan = board.scan()
            records = board.quests(state.value if state else None)
    except StoreBusy as err:  # a battle (or the game) writes the store: list a snapshot of it
        busy, scan = err, ScanResult()
        with open_for_reading(realm) as store:
            records = Board(realm, store).quests(state.value if state else None)
    if state is None and not show_all:
        records = [r for r in records if r.state not in ("done", "cancelled")]
    console = Console()
    table = Table(title="Quest Board")
    for column in ("ID", "State", "Priority", "Tries", "Examples", "File", "Updated"):
        table.add_column(column, overflow="fold")
    for r in records:
        style = STATE_STYLE.get(r.state, "")
        table.add_row(
            r.id, f"[{style}]{r.state}[/]", r.priority, str(r.attempts), _examples(r), r.path, _when(r.updated_at)
        )
    console.print(table)
    if scan.queued or scan.failed:
        console.print(f"Picked up {len(scan.queued) + len(scan.failed)} file(s) from the inbox.")
    if scan.waiting:
        console.print(f"[yellow]{len(scan.waiting)} file(s) still being written; picked up next time.[/]")
    for error in scan.errors:
        console.print(f"[red]{error}[/]")
    if busy is not None:
        from realm_tui.services.battle_status import battle_elsewhere

        running = battle_elsewhere(realm)
        console.print(f"[yellow]{running.line() if running else busy.pid}.[/]", markup=True, highlight=False)
        console.print("[dim]The inbox is picked up once that process lets go of the store.[/]")


@quest_app.command("show")
@user_errors
def show(ctx: typer.Context, quest_id: Annotated[str, typer.Argument(help="Quest id (or a unique prefix).")]) -> None:
    """Everything the board knows about one quest: state, attempts, reasons, validation report."""
    from realm_tui.cli.quest_render import render_quest
    from realm_tui.quests.board import Board
    from realm_tui.store.snapshot import open_for_reading

    realm = current_realm(ctx)
    with open_for_reading(realm) as store:  # read-only: works while a battle writes the store
        record = Board(realm, store).find(quest_id)
    render_quest(record)


@quest_app.command("retry")
@user_errors
def retry(
    ctx: typer.Context,
    quest_id: Annotated[str, typer.Argument(help="Quest id (or a unique prefix).")],
    priority: Annotated[Priority | None, typer.Option("--priority", "-p", help="Queue priority.")] = None,
    hero: HeroOption = None,
    no_wait: NoWaitOption = False,
    wait: WaitOption = 10.0,
) -> None:
    """Queue a failed or cancelled quest again (validated again; attempts start over)."""
    args = {"quest": quest_id, "priority": priority.value if priority else None, "hero": hero}
    run_write(ctx, "quest.retry", args, no_wait=no_wait, wait_s=wait)


@quest_app.command("cancel")
@user_errors
def cancel(
    ctx: typer.Context,
    quest_id: Annotated[str, typer.Argument(help="Quest id (or a unique prefix).")],
    no_wait: NoWaitOption = False,
    wait: WaitOption = 10.0,
) -> None:
    """Take a queued quest off the queue (its file moves to quests/failed/; retry brings it back)."""
    run_write(ctx, "quest.cancel", {"quest": quest_id}, no_wait=no_wait, wait_s=wait)


@quest_app.command("prioritize")
@user_errors
def prioritize(
    ctx: typer.Context,
    quest_id: Annotated[str, typer.Argument(help="Quest id (or a unique prefix).")],
    priority: Annotated[Priority, typer.Argument(help="New priority.")] = Priority.high,
    no_wait: NoWaitOption = False,
    wait: WaitOption = 10.0,
) -> None:
    """Move a queued quest to another priority (default: high)."""
    run_write(ctx, "quest.prioritize", {"quest": quest_id, "priority": priority.value}, no_wait=no_wait, wait_s=wait)


@quest_app.command("validate")
@user_errors
def validate(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Chat JSONL quest file.")],
    hero: HeroOption = None,
    max_tokens: Annotated[int | None, typer.Option("--max-tokens", min=8, help="Token limit to check.")] = None,
) -> None:
    """Check FILE at every level (schema, content, tokens) without queueing it; exit 2 on problems."""
    from realm_tui.cli.quest_render import render_report
    from realm_tui.errors import RealmNotFound
    from realm_tui.quests.policy import QuestPolicy, load_quest_policy
    from realm_tui.quests.tokens import counter_for
    from realm_tui.quests.validate import LEVELS, validate_quest_file

    policy, hero_config = QuestPolicy(), None
    try:
        realm = current_realm(ctx)
        policy = load_quest_policy(realm)
        if max_tokens is None:
            from realm_tui.store.snapshot import open_for_reading

            with open_for_reading(realm) as store:  # no lock: a battle may run
                hero_config = resolve_hero(realm, store, hero)
    except RealmNotFound:
        if hero is not None:
            raise
    limit = max_tokens or (hero_config.training_defaults.max_length if hero_config else None)
    report = validate_quest_file(
        file, policy=policy, count_tokens=counter_for(hero_config), max_tokens=limit, levels=LEVELS
    )
    render_report(report)
    if not report.ok:
        raise typer.Exit(2)


@quest_app.command("forge")
@user_errors
def forge(
    ctx: typer.Context,
    skill: Annotated[str, typer.Option("--skill", help="Skill id (bin, sy).")],
    level: Annotated[int, typer.Option("--level", min=1, help="Skill level.")],
    count: Annotated[int, typer.Option("--count", min=1, help="Examples to generate.")] = 1000,
    priority: Annotated[Priority, typer.Option("--priority", "-p", help="Queue priority.")] = Priority.normal,
    hero: HeroOption = None,
    no_wait: NoWaitOption = False,
    wait: WaitOption = 10.0,
) -> None:
    """Generate a training quest from a skill into the queue (never a held-out eval question)."""
    args = {"skill": skill, "level": level, "count": count, "priority": priority.value, "hero": hero}
    run_write(ctx, "quest.forge", args, no_wait=no_wait, wait_s=wait)


@quest_app.command("spar")
@user_errors
def spar(
    ctx: typer.Context,
    skill: Annotated[str, typer.Option("--skill", help="Skill id (bin, sy).")],
    level: Annotated[int | None, typer.Option("--level", min=1, help="Skill level (default: training level).")] = None,
    count: Annotated[int, typer.Option("--count", min=1, max=10_000, help="Problems to answer.")] = 100,
    checkpoint: Annotated[
        str | None,
        typer.Option("--checkpoint", help="Checkpoint name, `champion`, `latest` or a folder (default: latest)."),
    ] = None,
    hero: HeroOption = None,
    preferences: Annotated[
        bool,
        typer.Option(
            "--preferences",
            help="Also write the wrong answers as judge pairs (chosen = gold, rejected = the hero's answer) "
            "to quests/preferences/; train on them with `realm train --no-ui --school judge --quest FILE`.",
        ),
    ] = False,
) -> None:
    """Mirror school: the hero answers fresh problems; each wrong answer becomes 3 examples (queued high).

    With --preferences, each wrong answer also becomes a preference pair for the Judge school (DPO),
    written outside the queue (a chat battle cannot train on it); the command prints its path."""
    from realm_tui.config.realm_config import load_realm_configs
    from realm_tui.errors import InputError
    from realm_tui.quests.sparring import preference_lines, sparring_rounds, write_preferences
    from realm_tui.services.answering import require_skill
    from realm_tui.services.heroes import choose_hero
    from realm_tui.services.records import training_level_of
    from realm_tui.services.sparring import queue_round, spar_with
    from realm_tui.skills import get_skill
    from realm_tui.store.snapshot import open_for_reading

    realm = current_realm(ctx)
    configs = load_realm_configs(realm.configs)
    cfg = require_skill(configs, skill)
    with open_for_reading(realm) as store:
        choice = choose_hero(realm, configs, store, checkpoint, hero)
        level = level or training_level_of(store, skill, cfg.max_level)
    generator = get_skill(skill)
    if level > generator.max_level:
        raise InputError(None, f"{skill} has levels 1..{generator.max_level}, not {level}")
    typer.echo(f"{choice.label} spars on {count} {skill} level {level} problems…")
    with open_board(realm, hero) as board:
        index = sparring_rounds(board, skill, level)
    attempts, lines = spar_with(realm, configs, choice, skill, level, count, index)
    wrong = sum(1 for a in attempts if not a.correct)
    typer.echo(f"{len(attempts) - wrong}/{len(attempts)} right ({(len(attempts) - wrong) / len(attempts):.0%})")
    with open_board(realm, hero) as board:
        record = queue_round(board, choice, skill, level, attempts, lines, index)
    if record is None:
        typer.echo("no wrong answer: nothing to queue")
        return
    _say(record, "queued")
    if preferences:
        pairs = write_preferences(realm.quests, skill=skill, level=level, lines=preference_lines(attempts))
        if pairs is None:
            typer.echo("no non-empty wrong answer: no preference pair")
            return
        typer.echo(f"preference pairs: {pairs}")
        who = f" --hero {hero}" if hero else ""
        typer.echo(f"  train the judge on them: realm train --no-ui{who} --school judge --quest {pairs}")
