"""`realm module …`: list, inspect, validate, install, export and uninstall quest modules.

Registered in cli/app.py with `app.add_typer(module_app, name="module")`. Installing never runs code
from a module and never writes outside `quests/modules/`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from realm_tui.cli.common import current_realm, user_errors
from realm_tui.errors import InputError

if TYPE_CHECKING:
    from realm_tui.quests.manifest import ModuleManifest

module_app = typer.Typer(
    help="Quest modules: shareable packs of training and eval data (quests/modules/<id>/).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def parse_levels(text: str) -> list[int]:
    """`1-3` or `1,2,5` (or a mix: `1-3,7`) as a sorted list of levels."""
    levels: set[int] = set()
    try:
        for part in text.split(","):
            low, _, high = part.strip().partition("-")
            first, last = int(low), int(high or low)
            if first < 1 or last < first or last - first > 1000:
                raise ValueError
            levels.update(range(first, last + 1))
    except ValueError:
        raise InputError(None, f"--levels {text!r}: use a range like 1-3 or a list like 1,2,5") from None
    return sorted(levels)


@module_app.command("list")
@user_errors
def list_modules(ctx: typer.Context) -> None:
    """Installed modules, with their versions, skills and status."""
    from realm_tui.cli.quest_render import render_modules
    from realm_tui.quests.modules import list_modules as installed

    render_modules(installed(current_realm(ctx)))


@module_app.command("info")
@user_errors
def info(ctx: typer.Context, module_id: Annotated[str, typer.Argument(help="Module id.")]) -> None:
    """Everything in one module's manifest, and whether its files are still valid."""
    from realm_tui.cli.quest_render import render_module
    from realm_tui.quests.modules import check_module, get_module
    from realm_tui.quests.policy import load_quest_policy

    realm = current_realm(ctx)
    module = get_module(realm, module_id)
    render_module(module, check_module(module.root, load_quest_policy(realm)))


@module_app.command("validate")
@user_errors
def validate(ctx: typer.Context, path: Annotated[Path, typer.Argument(help="Module folder or .zip archive.")]) -> None:
    """Check a module (with every install check) without installing it; exit 2 if it is refused."""
    from realm_tui.cli.quest_render import render_check
    from realm_tui.errors import RealmNotFound
    from realm_tui.quests.modules import validate_module_source
    from realm_tui.quests.policy import QuestPolicy, load_quest_policy

    try:
        policy = load_quest_policy(current_realm(ctx))
    except RealmNotFound:
        policy = QuestPolicy()
    check = validate_module_source(path, policy)
    render_check(check)
    if not check.ok:
        raise typer.Exit(2)


@module_app.command("install")
@user_errors
def install(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="Module folder or .zip archive.")],
    force: Annotated[bool, typer.Option("--force", help="Replace an installed copy without asking.")] = False,
) -> None:
    """Install a module into quests/modules/<id>/ (an installed copy is kept until the new one is ready)."""
    from realm_tui.quests.modules import install_module
    from realm_tui.quests.policy import load_quest_policy

    def ask(old: ModuleManifest | None, new: ModuleManifest) -> bool:
        installed = f"{old.id} {old.version}" if old else "a module with an unreadable manifest"
        return typer.confirm(f"Replace {installed} with {new.id} {new.version}?", default=False)

    realm = current_realm(ctx)
    result = install_module(realm, path, force=force, policy=load_quest_policy(realm), confirm=ask)
    m = result.module.manifest
    replaced = f" (replaced {result.replaced.version})" if result.replaced else ""
    typer.echo(f"installed {m.id} {m.version}{replaced}: {len(result.unpacked.files)} file(s) in {result.module.root}")
    for warning in result.warnings:
        typer.secho(f"  warning: {warning}", fg=typer.colors.YELLOW)
    typer.echo(f"Train it by listing it under modules: in {realm.configs / 'curriculum.yaml'}")


@module_app.command("export")
@user_errors
def export(
    ctx: typer.Context,
    skill: Annotated[str, typer.Argument(help="Skill id (bin, sy).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Zip file to write.")],
    levels: Annotated[str, typer.Option("--levels", help="Levels, e.g. 1-3 or 1,2,5.")] = "1-3",
    count: Annotated[int, typer.Option("--count", min=1, help="Training examples per level.")] = 200,
    eval_count: Annotated[int, typer.Option("--eval-count", min=1, max=100, help="Eval problems per level.")] = 50,
    module_id: Annotated[str | None, typer.Option("--id", help="Module id (default: SKILL-pack).")] = None,
    version: Annotated[str, typer.Option("--version", help="Semantic version.")] = "1.0.0",
    author: Annotated[str, typer.Option("--author", help="Author.")] = "realm export",
    force: Annotated[bool, typer.Option("--force", help="Overwrite OUTPUT.")] = False,
) -> None:
    """Package a skill's generated data (and held-out eval sets) as a module zip."""
    from realm_tui.quests.export import export_skill

    manifest = export_skill(
        skill,
        output,
        levels=parse_levels(levels),
        count=count,
        eval_count=eval_count,
        module_id=module_id,
        version=version,
        author=author,
        force=force,
    )
    total = sum(d.examples for d in manifest.data)
    typer.echo(f"exported {manifest.id} {manifest.version} ({total} examples) to {output}")


@module_app.command("uninstall")
@user_errors
def uninstall(
    ctx: typer.Context,
    module_id: Annotated[str, typer.Argument(help="Module id.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
) -> None:
    """Remove an installed module's folder."""
    from realm_tui.quests.modules import uninstall_module

    realm = current_realm(ctx)
    if not yes and not typer.confirm(f"Remove module {module_id} from {realm.quests / 'modules'}?", default=False):
        raise typer.Exit(1)
    removed = uninstall_module(realm, module_id)
    typer.echo(f"uninstalled {module_id} ({removed})")
    curriculum = realm.configs / "curriculum.yaml"
    if curriculum.is_file() and module_id in curriculum.read_text(encoding="utf-8", errors="replace"):
        typer.secho(f"  warning: {curriculum} may still list {module_id}; remove it there", fg=typer.colors.YELLOW)
