"""The `realm` command line. Wiring only: heavy imports happen inside the commands.

`realm --help` must stay fast and must not import torch, transformers or textual.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
import typer.core

from realm_tui import __version__
from realm_tui.cli.armory import armory_app
from realm_tui.cli.battle import battle_app
from realm_tui.cli.campaign import campaign_app
from realm_tui.cli.common import GlobalOptions, current_realm, say_error
from realm_tui.cli.lore import lore_command
from realm_tui.cli.module import module_app
from realm_tui.cli.paths import paths_command
from realm_tui.cli.quest import quest_app
from realm_tui.cli.runs import runs_command
from realm_tui.cli.skills import eval_command, skills_command
from realm_tui.cli.train_options import (
    LaunchOption,
    PathOption,
    PlateauEvalsOption,
    ReportToOption,
    StopWhenOption,
    given_flags,
    headless_kwargs,
)
from realm_tui.cli.vault import vault_app
from realm_tui.errors import InputError, RealmError
from realm_tui.paths import RealmPaths

_typed_display = typer.core.TyperOption.display_type_rich


def _flag_shows_no_type(self: typer.core.TyperOption, ctx: Any) -> str | None:
    # typer 0.29 labels every flag `<bool>` in --help, though a flag takes no value
    return None if self.is_flag else _typed_display(self, ctx)


typer.core.TyperOption.display_type_rich = _flag_shows_no_type  # type: ignore[method-assign]

app = typer.Typer(
    name="realm",
    help=(
        "Realm of Training: a terminal RPG where playing fine-tunes a language model.\n\n"
        "Run `realm` to open the game, or `realm train --no-ui` to train headless (SSH)."
    ),
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    no_args_is_help=False,
)

app.add_typer(quest_app, name="quest")
app.add_typer(module_app, name="module")
app.add_typer(armory_app, name="armory")
app.add_typer(campaign_app, name="campaign")
app.add_typer(vault_app, name="vault")
app.add_typer(battle_app, name="battle")
app.command("eval")(eval_command)
app.command("skills")(skills_command)
app.command("runs")(runs_command)
app.command("paths")(paths_command)
app.command("lore")(lore_command)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"realm {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    home: Annotated[
        Path | None,
        typer.Option("--home", envvar="REALM_HOME", help="Realm folder (default: the current folder)."),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Open the game (the Tavern) when no command is given."""
    options = ctx.ensure_object(GlobalOptions)  # `main` hands one in; a test runner does not
    options.home, options.debug = home, debug
    if ctx.invoked_subcommand is None:
        from realm_tui.ui.launch import run_tui

        run_tui(options.realm())


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Folder to create (or complete) as a realm.")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing config files.")] = False,
) -> None:
    """Create a realm folder: configs/ with the defaults, quests/ and saves/."""
    from realm_tui.services.init_realm import init_realm

    realm, written = init_realm(directory, force=force)
    typer.echo(f"Realm ready at {realm.root} ({len(written)} config file(s) written).")
    typer.echo(f"Play with: realm --home {realm.root}")


@app.command()
def doctor(
    ctx: typer.Context,
    repair: Annotated[
        bool,
        typer.Option("--repair", help="Restore the newest good backup of a store file that cannot be used."),
    ] = False,
) -> None:
    """Check Python, torch, GPU, disk, configs and the store; exit 1 if training is blocked."""
    from rich.console import Console
    from rich.table import Table

    from realm_tui.errors import RealmNotFound
    from realm_tui.services.doctor import battle_running, run_checks, usable

    realm: RealmPaths | None
    try:
        realm = current_realm(ctx)
    except RealmNotFound as err:
        realm = None
        missing = str(err)
    if repair and realm is not None:
        from realm_tui.services.doctor import repair_store_of

        typer.echo(repair_store_of(realm))
    checks = run_checks(realm)
    table = Table(title="realm doctor", show_lines=False)
    table.add_column("Check")
    table.add_column("Status")
    table.add_column("Detail", overflow="fold")
    marks = {"ok": "[green]ok[/]", "warn": "[yellow]warn[/]", "fail": "[red]FAIL[/]"}
    for check in checks:
        table.add_row(check.name, marks[check.status], check.detail)
    if realm is None:
        table.add_row("Realm", marks["fail"], missing)
    console = Console()
    console.print(table)
    ok = usable(checks) and realm is not None
    running = battle_running(checks)
    if ok and running:
        console.print("[yellow]Ready to train once the running battle ends (see Battle above).[/]")
    else:
        console.print("[green]Ready to train.[/]" if ok else "[red]Something blocks training (see above).[/]")
    raise typer.Exit(0 if ok else 1)


@app.command()
def validate(
    ctx: typer.Context,
    quest: Annotated[list[Path] | None, typer.Argument(help="Quest JSONL files to check as well (optional).")] = None,
) -> None:
    """Validate every config of the realm (and the given quest files); exit 2 on any problem."""
    from realm_tui.config.realm_config import validate_realm_configs
    from realm_tui.quests.validate import validate_quest_file
    from realm_tui.skills.config_check import skill_level_problems

    realm = current_realm(ctx)
    problems = [str(p) for p in validate_realm_configs(realm.configs)]
    problems += [str(p) for p in skill_level_problems(realm.configs)]
    for path in quest or []:
        report = validate_quest_file(path)
        if not report.ok:
            problems.append(report.summary())
    for problem in problems:
        typer.echo(problem, err=True)
    if problems:
        raise typer.Exit(2)
    typer.echo(f"All configs valid in {realm.configs}" + (f"; {len(quest)} quest(s) valid" if quest else ""))


@app.command()
def train(
    ctx: typer.Context,
    no_ui: Annotated[bool, typer.Option("--no-ui", help="Train headless with a progress bar (SSH).")] = False,
    hero: Annotated[str | None, typer.Option("--hero", help="Hero id (default: the hero's campaign).")] = None,
    quest: Annotated[Path | None, typer.Option("--quest", help="Chat JSONL file to train on.")] = None,
    steps: Annotated[int | None, typer.Option("--steps", min=1, help="Optimizer steps to train.")] = None,
    resume: Annotated[
        bool, typer.Option("--resume/--fresh", help="Continue from the campaign's latest checkpoint.")
    ] = True,
    json_events: Annotated[bool, typer.Option("--json", help="Print one JSON event per line.")] = False,
    school: Annotated[
        str | None,
        typer.Option(
            "--school",
            help="scribe (SFT), judge (DPO on a preference quest), whisper (distil) or arena (GRPO on the skills); "
            "default: the campaign's (the Armory's pick), else scribe.",
        ),
    ] = None,
    teacher: Annotated[Path | None, typer.Option("--teacher", help="Whisper: teacher model folder or hero id.")] = None,
    school_option: Annotated[
        list[str] | None, typer.Option("--school-option", help="KEY=VALUE for the school (e.g. beta=0.1).")
    ] = None,
    oracle: Annotated[
        str | None, typer.Option("--oracle", help="Oracle loss weighting: entropy, confidence, perplexity, margin.")
    ] = None,
    launch: LaunchOption = None,
    path: PathOption = None,
    stop_when: StopWhenOption = None,
    plateau_evals: PlateauEvalsOption = None,
    report_to: ReportToOption = "tensorboard",
) -> None:
    """Fight a battle: train the hero on a quest, saving checkpoints into the vault."""
    _refuse_under_launcher()
    if not no_ui:
        given = {
            "--hero": hero is not None,
            "--quest": quest is not None,
            "--steps": steps is not None,
            "--fresh": not resume,
            "--json": json_events,
            "--school": school is not None,
            "--teacher": teacher is not None,
            "--school-option": bool(school_option),
            "--oracle": oracle is not None,
            "--launch": launch is not None,
            "--path": path is not None,
            **given_flags(stop_when, plateau_evals, report_to),
        }
        _refuse_headless_flags([flag for flag, on in given.items() if on])
        from realm_tui.ui.launch import run_tui

        run_tui(current_realm(ctx))
        return
    from realm_tui.battle.headless import run_headless
    from realm_tui.services.requests import BattleRequests

    options = _key_values(school_option or [])
    if teacher is not None:
        options["teacher"] = str(teacher)
    realm = current_realm(ctx)
    code = run_headless(
        realm,
        hero_id=hero,
        quest=quest,
        steps=steps,
        resume=resume,
        json_events=json_events,
        school=school,
        school_options=options,
        oracle_loss={"signal": oracle} if oracle else None,
        launch=launch,
        requests=BattleRequests(realm),  # `realm quest add …` from another terminal: this battle applies it
        path=path,
        **headless_kwargs(stop_when, plateau_evals, report_to),
    )
    raise typer.Exit(code)


def _refuse_under_launcher() -> None:
    """Under torchrun/accelerate every rank would run a whole realm parent (store, quests, battle)."""
    import os

    world = os.environ.get("WORLD_SIZE", "").strip()
    if (world.isdigit() and int(world) > 1) or "LOCAL_RANK" in os.environ or "RANK" in os.environ:
        found = ", ".join(f"{k}={os.environ[k]}" for k in ("WORLD_SIZE", "RANK", "LOCAL_RANK") if k in os.environ)
        raise InputError(
            None,
            f"realm train runs under a launcher here ({found}): realm starts the launcher itself; "
            'use realm train --no-ui --launch "accelerate launch …" (docs/scaling.md)',
        )


def _refuse_headless_flags(flags: list[str]) -> None:
    """The game takes its battle settings from the realm (Armory, Quest Board, campaign), not flags."""
    if flags:
        raise InputError(
            None,
            f"{' '.join(flags)}: only with --no-ui (headless); the game (realm train without --no-ui) takes its "
            "settings from the Armory, the Quest Board and the campaign",
        )


def _key_values(pairs: list[str]) -> dict[str, Any]:
    """`KEY=VALUE` options; values that parse as JSON numbers/booleans become them."""
    import json

    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(None, f"--school-option {pair!r}: write KEY=VALUE")
        try:
            out[key.strip()] = json.loads(value)
        except ValueError:
            out[key.strip()] = value
    return out


def main() -> None:
    """Console-script entry: user errors become one message and an exit code, no traceback."""
    options = GlobalOptions()  # the root callback fills it in; commands read it from the context
    try:
        app(obj=options)
    except RealmError as err:
        if options.debug:
            raise
        say_error(err)
        sys.exit(err.exit_code)
