"""`realm eval` and `realm skills`: evaluation and the skills' progress from the CLI.

Registered in cli/app.py::

    from realm_tui.cli.skills import eval_command, skills_command

    app.command("eval")(eval_command)
    app.command("skills")(skills_command)

Only typer is imported at module level (`realm --help` stays torch-free); `realm eval` runs the
hero in a spawned child process (`services.answering`), so even it keeps torch out of this
process. Both open the store read-only (a battle may hold the writer lock).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from realm_tui.cli.common import console, current_realm, user_errors

if TYPE_CHECKING:
    from realm_tui.config.realm_config import RealmConfigs

WRONG_SHOWN = 5
HISTORY_SHOWN = 8


# ---------------------------------------------------------------- realm eval


@user_errors
def eval_command(
    ctx: typer.Context,
    skill: Annotated[str, typer.Option("--skill", help="Skill id (bin, sy).")],
    level: Annotated[
        int | None, typer.Option("--level", min=1, help="Skill level (default: the training level).")
    ] = None,
    checkpoint: Annotated[
        str | None,
        typer.Option("--checkpoint", help="Checkpoint name, `champion`, `latest` or a folder (default: latest)."),
    ] = None,
    samples: Annotated[int, typer.Option("--samples", min=1, max=256, help="Held-out problems to answer.")] = 100,
    hero: Annotated[str | None, typer.Option("--hero", help="Hero id (default: the active campaign's).")] = None,
) -> None:
    """Evaluate the hero on a skill level's held-out set: accuracy and a few wrong answers."""
    from realm_tui.config.realm_config import load_realm_configs
    from realm_tui.services.answering import evaluate, level_to_answer, require_skill
    from realm_tui.services.heroes import choose_hero
    from realm_tui.store.snapshot import open_for_reading

    realm = current_realm(ctx)
    configs = load_realm_configs(realm.configs)
    cfg = require_skill(configs, skill)
    with open_for_reading(realm) as store:
        choice = choose_hero(realm, configs, store, checkpoint, hero)
        level = level_to_answer(store, skill, level, cfg.max_level)
    out = console()
    out.print(f"Evaluating [b]{choice.label}[/] on {skill} level {level} ({samples} problems max)…")
    done = evaluate(realm, configs, choice, skill, level, samples)
    _print_eval(out, done.result, cfg.threshold, done.seconds)


def _print_eval(console: Any, result: Any, threshold: float, seconds: float) -> None:
    from rich.table import Table

    from realm_tui.skills.registry import get_skill

    correct = sum(1 for r in result.results if r["correct"])
    style = "green" if result.accuracy >= threshold else "yellow"
    console.print(
        f"[{style}]{result.skill} L{result.level}: {result.accuracy:.1%}[/] ({correct}/{result.total} correct, "
        f"level-up threshold {threshold:.0%}; {seconds:.1f} s)"
    )
    if get_skill(result.skill).eval_overlaps_training(result.level):
        held = [r for r in result.results if r.get("held_out", True)]
        seen = [r for r in result.results if not r.get("held_out", True)]
        part = f"held out {_share(held)} of {len(held)}, " if held else ""
        console.print(
            f"[dim]{part}trained on too {_share(seen)} of {len(seen)} (tiny operations are evaluated "
            "whole, and training covers them)[/]"
        )
    wrong = [r for r in result.results if not r["correct"]]
    if not wrong:
        return
    table = Table(title=f"{min(len(wrong), WRONG_SHOWN)} of {len(wrong)} wrong answers", show_lines=True)
    for column in ("Prompt", "Expected", "Got"):
        table.add_column(column, overflow="fold")
    for r in wrong[:WRONG_SHOWN]:
        table.add_row(r["prompt"], r["expected"], r["got"] or "[dim](nothing)[/]")
    console.print(table)


def _share(results: list[dict[str, Any]]) -> str:
    return f"{sum(1 for r in results if r['correct']) / len(results):.0%}" if results else "-"


# ---------------------------------------------------------------- realm skills


@user_errors
def skills_command(
    ctx: typer.Context,
    campaign_id: Annotated[
        str | None, typer.Option("--campaign", help="Campaign id or prefix (default: the current one).")
    ] = None,
) -> None:
    """Skill levels, last evals against the level-up threshold, eval history and weak primitives."""
    from realm_tui.config.realm_config import load_realm_configs
    from realm_tui.services.records import find_campaign, progress_of
    from realm_tui.store.snapshot import open_for_reading

    realm = current_realm(ctx)
    configs = load_realm_configs(realm.configs)
    with open_for_reading(realm) as store:
        progress = progress_of(store, find_campaign(store, campaign_id))
    campaign, evals = progress.campaign, list(progress.evals)
    out = console()
    if campaign is None:
        out.print("No campaign yet: start one with `realm train --no-ui` (or `realm campaign new`).")
    else:
        where = f"{campaign.hero_id}, {campaign.status}, step {campaign.current_step}"
        out.print(f"Campaign [b]{campaign.id}[/] ({where})")
    enabled = [s for s in configs.skills if s not in configs.curriculum.skills or configs.curriculum.skills[s].enabled]
    _print_levels(out, configs, campaign, evals, enabled)
    _print_history(out, evals)
    _print_primitives(out, configs, evals)


def _print_levels(console: Any, configs: RealmConfigs, campaign: Any, evals: list[Any], enabled: list[str]) -> None:
    from rich.table import Table

    from realm_tui.services.standings import skill_standings
    from realm_tui.skills.versions import old_version_levels, old_version_note

    table = Table(title="Skills")
    table.add_column("Skill", no_wrap=True)  # the skill's one name, whole: `Circle Runes (BIN)`
    for column in ("Mastered", "Training", "Last evals", "Mean", "Threshold", "Status"):
        table.add_column(column)
    for standing in skill_standings(configs, campaign.skill_levels if campaign else {}, evals):
        sid, cfg, mastered, level, decision = (
            standing.skill, standing.config, standing.mastered, standing.training_level, standing.decision,
        )  # fmt: skip
        last = " ".join(f"{a:.0%}" for a in standing.at_level[-cfg.min_evals :]) or "-"
        mean = f"{decision.mean:.0%}" if decision.mean is not None else "-"
        if mastered >= cfg.max_level:
            status = "[green]complete[/]"
        elif sid not in enabled:
            status = "[dim]disabled[/]"
        elif decision.level_up:
            status = "[green]levels up at the next eval[/]"
        elif decision.below_threshold:  # more evals alone would not do: say what it needs
            status = f"needs accuracy ≥ {cfg.threshold:.0%} on {cfg.min_evals} evals (mean {mean})"
        elif decision.evals_missing:
            status = f"needs {decision.evals_missing} more eval(s) at ≥ {cfg.threshold:.0%}"
        else:
            status = "training"
        name, needed = f"{cfg.icon} {cfg.display_name}", f"{cfg.threshold:.0%}"
        table.add_row(name, str(mastered), f"{level}/{cfg.max_level}", last, mean, needed, status)
    console.print(table)
    for sid in configs.skills:
        note = old_version_note(old_version_levels(evals, sid), sid)
        if note:
            console.print(f"[yellow]{sid.upper()}: {note}.[/]")


def _print_history(console: Any, evals: list[Any]) -> None:
    from rich.table import Table

    from realm_tui.skills.versions import is_current

    if not evals:
        console.print("[dim]No evals yet.[/]")
        return
    table = Table(title=f"Eval history (last {HISTORY_SHOWN})")
    for column in ("Step", "Skill", "Level", "Accuracy", "Problems", "Generator", "When"):
        table.add_column(column)
    for e in evals[-HISTORY_SHOWN:]:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(e.created_at))
        version = f"v{e.data_version}" + ("" if is_current(e) else " [yellow](old)[/]")
        table.add_row(str(e.step), e.skill, str(e.level), f"{e.accuracy:.0%}", str(e.total), version, when)
    console.print(table)


def _print_primitives(console: Any, configs: RealmConfigs, evals: list[Any]) -> None:
    from rich.table import Table

    from realm_tui.rules.primitives import PRIMITIVES, WEAK_MIN_SAMPLES, PrimitiveTracker, TaggedResult, skills_for

    latest: dict[tuple[str, int], Any] = {}
    for e in evals:  # ordered by step: the last one per (skill, level) wins
        latest[(e.skill, e.level)] = e
    tagged = [
        TaggedResult(tuple(r.get("primitives") or ()), bool(r.get("correct")))
        for e in latest.values()
        for r in e.results
    ]
    tracker = PrimitiveTracker().record_all(tagged)
    weak = tracker.weak_primitives()
    if not tagged:
        return
    if not weak:
        console.print(f"[green]No weak primitive[/] (each under 70% over ≥ {WEAK_MIN_SAMPLES} samples would show).")
        return
    by_skill = {sid: list(cfg.primitives) for sid, cfg in configs.skills.items()}
    table = Table(title="Weak primitives (latest eval of each level)")
    for column in ("Primitive", "Accuracy", "Samples", "What it is", "Trained by"):
        table.add_column(column, overflow="fold")
    for pid in weak:
        acc = tracker.accuracy(pid) or 0.0
        table.add_row(
            pid, f"{acc:.0%}", str(tracker.samples(pid)), PRIMITIVES.get(pid, ""), ", ".join(skills_for(pid, by_skill))
        )
    console.print(table)
