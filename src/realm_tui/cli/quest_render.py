"""Rich rendering of quests, validation reports and modules for the `realm quest|module` commands."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from realm_tui.quests.modules import InstalledModule, ModuleCheck, ModuleEntry
from realm_tui.quests.validate import QuestReport, problem_text
from realm_tui.store import QuestRecord


def _when(stamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))


def _grid(title: str) -> Table:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("Field", style="bold")
    table.add_column("Value", overflow="fold")
    return table


def render_quest(record: QuestRecord, console: Console | None = None) -> None:
    """One quest: fields, reasons and its validation report."""
    console = console or Console()
    table = _grid(f"Quest {record.id}")
    table.add_row("State", record.state)
    table.add_row("Priority", record.priority)
    table.add_row("Attempts", str(record.attempts))
    table.add_row("File", escape(record.path))
    table.add_row("Created", _when(record.created_at))
    table.add_row("Updated", _when(record.updated_at))
    if record.source_checkpoint:
        table.add_row("From checkpoint", record.source_checkpoint)
    info: dict[str, Any] = record.report
    for key, label in (("source", "Dropped as"), ("original", "Original kept at"), ("report_file", "Report")):
        if key in info:
            table.add_row(label, escape(str(info[key])))
    forge = info.get("forge")
    if isinstance(forge, dict):
        table.add_row("Forged", f"{forge.get('skill')} level {forge.get('level')}, {forge.get('count')} examples")
    validation = info.get("validation")
    if isinstance(validation, dict):
        counts = f"{validation.get('valid')} valid, {validation.get('invalid')} invalid"
        counts += f", {validation.get('truncated')} truncated, {validation.get('blank')} blank"
        table.add_row("Examples", counts)
        tokens = validation.get("tokens")
        if isinstance(tokens, dict) and tokens.get("counted"):
            table.add_row(
                "Tokens",
                f"mean {tokens.get('mean')}, longest {tokens.get('longest')} (line {tokens.get('longest_line')}), "
                f"limit {tokens.get('limit')}",
            )
    console.print(table)
    for reason in record.reasons:
        console.print(f"[red]•[/] {escape(reason)}")
    problems = validation.get("problems") if isinstance(validation, dict) else None
    if problems:
        listed = Table(title="Invalid lines", title_justify="left")
        listed.add_column("Line", justify="right")
        listed.add_column("Level")
        listed.add_column("Reason", overflow="fold")
        for line, level, reason in problems[:20]:
            listed.add_row(str(line), str(level), escape(str(reason)))
        console.print(listed)


def render_report(report: QuestReport, console: Console | None = None, limit: int = 20) -> None:
    """A validation report: verdict, counts by level, token stats, first problems."""
    console = console or Console(soft_wrap=True)
    verdict = "[green]ok[/]" if report.ok else ("[yellow]usable[/]" if report.usable else "[red]rejected[/]")
    console.print(f"{escape(str(report.path))}: {verdict}")
    counts = report.counts_by_level()
    console.print(
        f"  {len(report.valid_lines)} valid, {report.problem_count} invalid "
        f"(schema {counts['schema']}, content {counts['content']}, tokens {counts['tokens']}), "
        f"{len(report.truncated_lines)} truncated, {report.blank_lines} blank"
    )
    if report.tokens is not None and report.tokens.counted:
        t = report.tokens
        limit_text = f", limit {t.limit}" if t.limit else " (no limit checked)"
        console.print(f"  tokens: mean {t.mean:.0f}, longest {t.longest} (line {t.longest_line}){limit_text}")
    for problem in report.problems[:limit]:
        console.print("  " + escape(problem_text(report.path, problem.line, problem.reason, problem.level)))
    if report.problem_count > limit:
        console.print(f"  … and {report.problem_count - limit} more")


def render_modules(entries: list[ModuleEntry], console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title="Quest modules")
    for column in ("ID", "Version", "Name", "Skills", "Examples", "Status"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        if entry.module is None:
            table.add_row(entry.folder.name, "", "", "", "", f"[red]{escape(entry.error or 'broken')}[/]")
            continue
        m = entry.module.manifest
        skills = ", ".join(f"{s.id} {s.levels[0]}-{s.levels[-1]}" for s in m.skills)
        table.add_row(m.id, m.version, escape(m.name), skills, str(sum(d.examples for d in m.data)), "[green]ok[/]")
    console.print(table)


def render_module(module: InstalledModule, check: ModuleCheck | None = None, console: Console | None = None) -> None:
    console = console or Console()
    m = module.manifest
    table = _grid(f"Module {m.id} {m.version}")
    table.add_row("Name", escape(m.name))
    table.add_row("Author", escape(m.author))
    table.add_row("License", escape(m.license))
    table.add_row("Folder", escape(str(module.root)))
    if m.description:
        table.add_row("Description", escape(m.description.strip()))
    table.add_row(
        "Primitives",
        ", ".join(m.primitives.required)
        + (" (+ " + ", ".join(m.primitives.optional) + ")" if m.primitives.optional else ""),
    )
    table.add_row(
        "Requires",
        f"hero level {m.requirements.min_level}"
        + (", modules " + ", ".join(m.requirements.prerequisites) if m.requirements.prerequisites else ""),
    )
    for skill in m.skills:
        table.add_row(f"Skill {skill.id}", f"levels {skill.levels} of {skill.max_level}")
    for entry in m.data:
        table.add_row(
            "Data",
            f"{entry.path}: {m.skill_of(entry)} L{entry.skill_level}, "
            f"{entry.examples} examples, difficulty {entry.difficulty}",
        )
    if m.evaluation is not None:
        e = m.evaluation
        table.add_row("Evaluation", f"{e.type}, match {e.match}, threshold {e.threshold}, {e.evals_required} eval(s)")
        for s in e.sets:
            table.add_row("Eval set", f"{s.path}: {m.skill_of(s)} L{s.skill_level}, {s.examples} problems")
    c = m.curriculum
    table.add_row(
        "Curriculum", f"{c.progression}, advance at {c.min_accuracy_to_advance}, cooldown {c.cooldown_on_fail} steps"
    )
    console.print(table)
    if check is not None:
        render_check(check, console)


def render_check(check: ModuleCheck, console: Console | None = None) -> None:
    console = console or Console(soft_wrap=True)
    for problem in check.problems:
        console.print(f"[red]✗[/] {escape(problem)}")
    for warning in check.warnings:
        console.print(f"[yellow]![/] {escape(warning)}")
    if check.ok:
        console.print("[green]✓ valid module[/]")
