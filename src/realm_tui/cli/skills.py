"""`realm eval`, `realm skills` and `realm campaign …`: skills, evaluation and campaigns from the CLI.

Registered in cli/app.py::

    from realm_tui.cli.skills import campaign_app, eval_command, skills_command

    app.add_typer(campaign_app, name="campaign")
    app.command("eval")(eval_command)
    app.command("skills")(skills_command)

Only typer is imported at module level (`realm --help` stays torch-free); `realm eval` runs the
hero in a spawned child process (`realm_tui.services.answerer` starts `realm_tui.trainer.entry.answer`),
so even it keeps torch out of this process. Read-only commands open the store read-only (a battle
may hold the writer lock).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from realm_tui.cli.quest import current_realm, user_errors
from realm_tui.errors import InputError

if TYPE_CHECKING:
    from realm_tui.config.hero import HeroConfig
    from realm_tui.config.realm_config import RealmConfigs
    from realm_tui.paths import RealmPaths
    from realm_tui.store import CampaignRecord, CheckpointRecord, Store

campaign_app = typer.Typer(
    help="Campaigns: start a new one, list them, show one, resume one, archive one.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

WRONG_SHOWN = 5
HISTORY_SHOWN = 8


# ---------------------------------------------------------------- shared helpers


@dataclass(frozen=True)
class HeroChoice:
    """Who answers: a hero config and the checkpoint folder (None: the base hero)."""

    hero: HeroConfig
    checkpoint: Path | None
    label: str
    record: CheckpointRecord | None = None


def _console() -> Any:
    from rich.console import Console

    return Console()


def current_campaign(store: Store, hero_id: str | None = None) -> CampaignRecord | None:
    """The active campaign (of the hero, if given), else the most recently updated one: a maxed-out
    or paused campaign stays in view (as on the TUI's hero card, `ui.views.current_campaign`)."""
    active = store.campaigns.active(hero_id)
    if active is not None:
        return active
    found = store.campaigns.by_hero(hero_id) if hero_id else store.campaigns.all()
    return max(found, key=lambda c: c.updated_at) if found else None


def _campaign(store: Store, campaign_id: str | None) -> CampaignRecord | None:
    """The campaign named by id or unique prefix; without one, `current_campaign`."""
    if campaign_id:
        found = store.campaigns.get(campaign_id)
        if found is None:
            matches = [c for c in store.campaigns.all() if c.id.startswith(campaign_id)]
            if len(matches) != 1:
                raise InputError(None, f"no single campaign matches {campaign_id!r} (see `realm campaign list`)")
            found = matches[0]
        return found
    return current_campaign(store)


def resolve_checkpoint(realm: RealmPaths, store: Store, name: str) -> CheckpointRecord | Path:
    """A ledger record by name (or unique prefix; `champion`, `latest`), else a checkpoint folder."""
    records = store.ledger.all()
    if name in ("champion", "latest"):
        campaign = current_campaign(store)
        if campaign is None:
            raise InputError(None, f"--checkpoint {name}: there is no campaign yet")
        found = store.ledger.champion(campaign.id) if name == "champion" else store.ledger.latest(campaign.id)
        if found is None:
            raise InputError(None, f"--checkpoint {name}: campaign {campaign.id} has no {name} checkpoint yet")
        return found
    exact = [r for r in records if r.name == name] or [r for r in records if r.name.startswith(name)]
    if len(exact) == 1:
        return exact[0]
    if len(exact) > 1:
        raise InputError(None, f"--checkpoint {name!r} matches {len(exact)} checkpoints: be more precise")
    for folder in (Path(name).expanduser(), realm.checkpoints / name, realm.root / name):
        if folder.is_dir():
            return folder.resolve()
    raise InputError(None, f"no checkpoint {name!r} in the ledger or on disk (see `realm vault list`)")


def choose_hero(
    realm: RealmPaths, configs: RealmConfigs, store: Store, checkpoint: str | None, hero_id: str | None
) -> HeroChoice:
    """`--checkpoint` (with its hero), else the current campaign's latest checkpoint, else the base hero."""
    from realm_tui.config.realm_config import DEFAULT_HERO
    from realm_tui.confine import checkpoint_folder
    from realm_tui.contract.manifest import is_valid_checkpoint

    campaign = current_campaign(store, hero_id)
    if checkpoint is not None:
        found = resolve_checkpoint(realm, store, checkpoint)
        if isinstance(found, Path):
            hero = configs.hero(hero_id or (campaign.hero_id if campaign else DEFAULT_HERO))
            return HeroChoice(hero, found, found.name)
        folder = checkpoint_folder(realm, found.path)  # confined to saves/checkpoints/
        if not is_valid_checkpoint(folder):
            raise InputError(folder, f"checkpoint {found.name} is missing or does not verify")
        return HeroChoice(configs.hero(hero_id or found.hero_id), folder, found.name, found)
    if campaign is not None:
        for record in reversed(store.ledger.by_campaign(campaign.id)):
            try:
                folder = checkpoint_folder(realm, record.path)
            except InputError:
                continue
            if not record.damaged and is_valid_checkpoint(folder):
                hero = configs.hero(hero_id or record.hero_id)
                return HeroChoice(hero, folder, record.name, record)
    hero = configs.hero(hero_id or (campaign.hero_id if campaign else DEFAULT_HERO))
    return HeroChoice(hero, None, f"{hero.id} (base)")


def answerer_for(realm: RealmPaths, configs: RealmConfigs, choice: HeroChoice, max_new_tokens: int = 128) -> Any:
    """A `HeroAnswerer` (not started) for the chosen hero/checkpoint."""
    from realm_tui.services.answerer import AnswerSetup, HeroAnswerer

    setup = AnswerSetup(
        hero=choice.hero.model_dump(mode="json"),
        realm_root=str(realm.root),
        checkpoint=str(choice.checkpoint) if choice.checkpoint else None,
        memory_profile=configs.profile_for(choice.hero).model_dump(mode="json"),
    )
    return HeroAnswerer(setup, max_new_tokens=max_new_tokens)


def spar_with(
    realm: RealmPaths, configs: RealmConfigs, choice: HeroChoice, skill: str, level: int, count: int, index: int
) -> tuple[list[Any], list[str]]:
    """One sparring round answered by the chosen hero in a child: (attempts, the examples' JSONL lines)."""
    from realm_tui.quests.sparring import spar
    from realm_tui.skills import get_skill

    sample = get_skill(skill).generate(level, 32, seed=level)
    budget = max(len(p.expected) for p in sample) + 8  # characters bound tokens from above
    with answerer_for(realm, configs, choice, max_new_tokens=budget) as answerer:
        return spar(skill, level, count, answerer.answer, index=index)


def training_level_of(store: Store, skill: str, max_level: int) -> int:
    """The skill's training level in the current campaign (1 without one)."""
    campaign = current_campaign(store)
    mastered = campaign.skill_levels.get(skill, 0) if campaign else 0
    return min(mastered + 1, max_level)


# ---------------------------------------------------------------- realm eval


@user_errors
def eval_command(
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
    from realm_tui.store import Store

    realm = current_realm()
    configs = load_realm_configs(realm.configs)
    if skill not in configs.skills:
        raise InputError(None, f"unknown skill {skill!r} (known: {', '.join(configs.skills)})")
    cfg = configs.skills[skill]
    with Store.open(realm.store_file, readonly=True) as store:
        choice = choose_hero(realm, configs, store, checkpoint, hero)
        level = level or training_level_of(store, skill, cfg.max_level)
    if level > cfg.max_level:
        raise InputError(None, f"{skill} has levels 1..{cfg.max_level}, not {level}")
    console = _console()
    console.print(f"Evaluating [b]{choice.label}[/] on {skill} level {level} ({samples} problems max)…")
    started = time.perf_counter()
    with answerer_for(realm, configs, choice) as answerer:
        result = answerer.evaluate(skill, level, samples)
    seconds = time.perf_counter() - started
    _print_eval(console, result, cfg.threshold, seconds)


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
    campaign_id: Annotated[
        str | None, typer.Option("--campaign", help="Campaign id or prefix (default: the current one).")
    ] = None,
) -> None:
    """Skill levels, last evals against the level-up threshold, eval history and weak primitives."""
    from realm_tui.config.realm_config import load_realm_configs
    from realm_tui.store import Store

    realm = current_realm()
    configs = load_realm_configs(realm.configs)
    with Store.open(realm.store_file, readonly=True) as store:
        campaign = _campaign(store, campaign_id)
        evals = store.evals.for_campaign(campaign.id) if campaign else []
    console = _console()
    if campaign is None:
        console.print("No campaign yet: start one with `realm train --no-ui` (or `realm campaign new`).")
    else:
        where = f"{campaign.hero_id}, {campaign.status}, step {campaign.current_step}"
        console.print(f"Campaign [b]{campaign.id}[/] ({where})")
    enabled = [s for s in configs.skills if s not in configs.curriculum.skills or configs.curriculum.skills[s].enabled]
    _print_levels(console, configs, campaign, evals, enabled)
    _print_history(console, evals)
    _print_primitives(console, configs, evals)


def _print_levels(console: Any, configs: RealmConfigs, campaign: Any, evals: list[Any], enabled: list[str]) -> None:
    from rich.table import Table

    from realm_tui.rules import decide_level_up, training_level
    from realm_tui.skills.versions import is_current, old_version_levels, old_version_note

    table = Table(title="Skills")
    for column in ("Skill", "Mastered", "Training", "Last evals", "Mean", "Threshold", "Status"):
        table.add_column(column)
    for sid, cfg in configs.skills.items():
        mastered = campaign.skill_levels.get(sid, 0) if campaign else 0
        level = training_level(mastered, cfg.max_level)
        # As the keeper judges: only evals graded by today's generator count for a level-up.
        at_level = [e.accuracy for e in evals if e.skill == sid and e.level == level and is_current(e)]
        decision = decide_level_up(at_level, threshold=cfg.threshold, min_evals=cfg.min_evals)
        last = " ".join(f"{a:.0%}" for a in at_level[-cfg.min_evals :]) or "-"
        mean = f"{decision.mean:.0%}" if decision.mean is not None else "-"
        if mastered >= cfg.max_level:
            status = "[green]complete[/]"
        elif sid not in enabled:
            status = "[dim]disabled[/]"
        elif decision.level_up:
            status = "[green]levels up at the next eval[/]"
        elif decision.evals_missing:
            status = f"needs {decision.evals_missing} more eval(s)"
        else:
            status = "training"
        name, needed = f"{cfg.icon} {sid}", f"{cfg.threshold:.0%}"
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


# ---------------------------------------------------------------- realm campaign


def _state(record: CampaignRecord) -> Any:
    from realm_tui.rules.campaign import CampaignState, CampaignStatus

    return CampaignState(
        id=record.id, hero_id=record.hero_id, status=CampaignStatus(record.status), current_step=record.current_step
    )


def _transition(store: Store, record: CampaignRecord, move: Any) -> CampaignRecord:
    """Apply a `rules.campaign` move (pause, archive …) to a stored campaign; ValueError → InputError."""
    try:
        state = move(_state(record))
    except ValueError as err:
        raise InputError(None, str(err)) from None
    milestone = state.milestones[-1]
    entry = {"kind": milestone.kind, "step": milestone.step, "text": milestone.text, "at": time.time()}
    return store.campaigns.update(
        record.id, status=state.status.value, milestones=[*record.milestones, entry], updated_at=time.time()
    )


@campaign_app.command("new")
@user_errors
def campaign_new(
    hero: Annotated[str | None, typer.Option("--hero", help="Hero id (default: the current campaign's).")] = None,
    name: Annotated[str | None, typer.Option("--name", help="A name for the campaign.")] = None,
) -> None:
    """Start a fresh campaign (from the base hero); the active campaign is paused."""
    from realm_tui.battle.setup import start_campaign
    from realm_tui.config.realm_config import DEFAULT_HERO, load_realm_configs
    from realm_tui.rules.campaign import pause
    from realm_tui.store import HeroRecord, Store

    realm = current_realm()
    configs = load_realm_configs(realm.configs)
    with Store.open(realm.store_file) as store:
        current = current_campaign(store)
        hero_config = configs.hero(hero or (current.hero_id if current else DEFAULT_HERO))
        paused = []
        for record in [c for c in store.campaigns.all() if c.status == "active"]:
            paused.append(_transition(store, record, pause).id)
        record = start_campaign(store, hero_config.id)
        entry = {"kind": "started", "step": 0, "text": f"Campaign {record.id} begins with {hero_config.id}."}
        record = store.campaigns.update(
            record.id, name=name or record.name, milestones=[*record.milestones, {**entry, "at": time.time()}]
        )
        if hero_config.id not in store.heroes:
            store.heroes.add(HeroRecord(id=hero_config.id, name=hero_config.name))
    for pid in paused:
        typer.echo(f"paused {pid}")
    typer.echo(f"started {record.id} ({hero_config.id}); `realm train --no-ui` fights its first battle")


@campaign_app.command("list")
@user_errors
def campaign_list(
    show_all: Annotated[bool, typer.Option("--all", "-a", help="Include archived campaigns.")] = False,
) -> None:
    """Every campaign: status, step, skill levels, gold."""
    from rich.table import Table

    from realm_tui.store import Store

    realm = current_realm()
    with Store.open(realm.store_file, readonly=True) as store:
        records = sorted(store.campaigns.all(), key=lambda c: c.created_at)
    if not show_all:
        records = [r for r in records if r.status != "archived"]
    table = Table(title="Campaigns")
    for column in ("ID", "Hero", "Status", "Step", "Skills", "Gold", "Updated"):
        table.add_column(column, overflow="fold")
    styles = {"active": "bold green", "paused": "yellow", "maxed_out": "magenta", "archived": "dim"}
    for r in records:
        skills = " ".join(f"{s} {lv}" for s, lv in sorted(r.skill_levels.items())) or "-"
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.updated_at))
        status = f"[{styles.get(r.status, '')}]{r.status}[/]"
        table.add_row(r.id, r.hero_id, status, str(r.current_step), skills, str(r.gold), when)
    _console().print(table)


@campaign_app.command("show")
@user_errors
def campaign_show(
    campaign_id: Annotated[str | None, typer.Argument(help="Campaign id or prefix (default: the current one).")] = None,
) -> None:
    """One campaign: status (and why it maxed out), peaks, level transitions, milestones."""
    from rich.table import Table

    from realm_tui.store import Store

    realm = current_realm()
    with Store.open(realm.store_file, readonly=True) as store:
        record = _campaign(store, campaign_id)
        if record is None:
            raise InputError(None, "no campaign yet: start one with `realm campaign new` (or `realm train --no-ui`)")
        ledger = store.ledger.by_campaign(record.id)
        champion = store.ledger.champion(record.id)
    console = _console()
    console.print(f"[b]{record.id}[/] {record.name} — hero {record.hero_id}, status [b]{record.status}[/]")
    if record.status == "maxed_out":
        reason = next((m.get("reason") for m in reversed(record.milestones) if m.get("kind") == "maxed_out"), None)
        console.print(f"[magenta]Maxed out: {reason or 'level cap found'}[/]")
        console.print(
            f"Archive it (`realm campaign archive {record.id}`), start anew (`realm campaign new`) or "
            "continue from one of its checkpoints with New Game+ (Vault)."
        )
    start = f"from {record.start_checkpoint}" if record.start_checkpoint else "from the base hero"
    console.print(f"Step {record.current_step} ({start}); gold {record.gold}; quests done {record.quests_completed}")
    console.print(f"Checkpoints: {len(ledger)}; champion: {champion.name if champion else '-'}")
    levels = ", ".join(f"{s} {lv}" for s, lv in sorted(record.skill_levels.items())) or "none yet"
    console.print(f"Skill levels: {levels}")
    if record.peaks:
        console.print("Peaks: " + ", ".join(f"{k} {_fmt(v)}" for k, v in sorted(record.peaks.items())))
    if record.transitions:
        table = Table(title="Level transitions")
        for column in ("Step", "Skill", "From", "To", "Accuracy", "Effort"):
            table.add_column(column)
        for t in record.transitions:
            table.add_row(
                str(t.get("step")), str(t.get("skill")), str(t.get("from")), str(t.get("to")),
                _fmt(t.get("accuracy")), _fmt(t.get("effort")),
            )  # fmt: skip
        console.print(table)
    if record.milestones:
        table = Table(title="Milestones")
        for column in ("Step", "Kind", "Detail"):
            table.add_column(column, overflow="fold")
        for m in record.milestones:
            detail = m.get("text") or m.get("reason") or " ".join(f"{k}={m[k]}" for k in ("skill", "level") if k in m)
            table.add_row(str(m.get("step", "")), str(m.get("kind")), str(detail))
        console.print(table)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if value < 10 else f"{value:.1f}"
    return "-" if value is None else str(value)


@campaign_app.command("archive")
@user_errors
def campaign_archive(
    campaign_id: Annotated[str, typer.Argument(help="Campaign id or prefix.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Close a campaign for good (its record and checkpoints stay readable)."""
    from realm_tui.rules.campaign import archive
    from realm_tui.store import Store

    realm = current_realm()
    with Store.open(realm.store_file) as store:
        record = _campaign(store, campaign_id)
        assert record is not None
        if not yes and not typer.confirm(f"Archive {record.id} for good?"):
            raise typer.Exit(1)
        record = _transition(store, record, archive)
    typer.echo(f"archived {record.id}")


@campaign_app.command("resume")
@user_errors
def campaign_resume(
    campaign_id: Annotated[str, typer.Argument(help="Campaign id or prefix.")],
) -> None:
    """Continue a paused (or maxed-out) campaign; the active campaign is paused (one is active at a time,
    as with `campaign new` and the TUI's Campaign desk)."""
    from realm_tui.rules.campaign import pause, resume
    from realm_tui.store import Store

    realm = current_realm()
    with Store.open(realm.store_file) as store:
        record = _campaign(store, campaign_id)
        assert record is not None
        try:
            resume(_state(record))  # refuse (archived, already active) before anything is written
        except ValueError as err:
            raise InputError(None, str(err)) from None
        paused = [
            _transition(store, other, pause).id
            for other in store.campaigns.all()
            if other.status == "active" and other.id != record.id
        ]
        record = _transition(store, record, resume)
    for pid in paused:
        typer.echo(f"paused {pid}")
    typer.echo(f"resumed {record.id} ({record.hero_id}); `realm train --no-ui` fights its next battle")
