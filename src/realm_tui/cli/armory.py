"""`realm armory …`: memory profiles, the VRAM calculator and the knob check, from the shell.

Registered in `cli/app.py` as `app.add_typer(armory_app, name="armory")`. Every heavy import (rich,
the calculator, torch for `check`) happens inside the command that needs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from realm_tui.cli.common import current_realm

if TYPE_CHECKING:
    from realm_tui.armory.vram import VramEstimate

armory_app = typer.Typer(
    name="armory",
    help="The Armory: memory profiles, the VRAM calculator and the knob check.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)


def _print_estimate(estimate: VramEstimate, title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=title)
    table.add_column("Component")
    table.add_column("GiB", justify="right")
    table.add_column("Share", justify="right")
    total = estimate.total or 1
    for name, size in estimate.components():
        table.add_row(name, f"{size / (1 << 30):.2f}", f"{100 * size / total:.0f} %")
    where = "RAM" if estimate.device == "cpu" else "VRAM"
    table.add_row(f"[bold]total ({where})[/]", f"[bold]{estimate.total_gib:.2f}[/]", "100 %")
    if estimate.cpu_offload:
        table.add_row("CPU-side (paged state)", f"{estimate.cpu_offload / (1 << 30):.2f}", "—")
    console.print(table)
    console.print(
        f"parameters {estimate.total_params:,} · trainable {estimate.trainable_params:,} "
        f"({100 * estimate.trainable_params / max(1, estimate.total_params):.2f} %)"
    )
    for note in estimate.notes:
        console.print(f"• {note}")


@armory_app.command()
def profiles(ctx: typer.Context) -> None:
    """List the realm's memory profiles."""
    from rich.console import Console
    from rich.table import Table

    from realm_tui.armory.profiles import load_profiles

    found = load_profiles(current_realm(ctx).configs)
    table = Table(title="Memory profiles")
    for column in ("Profile", "Method", "Base", "Optimizer", "Attention", "Ckpt", "Batch×Len", "Sizes (B)", "GB"):
        table.add_column(column)
    for pid, p in found.items():
        sizes = p.recommended_model_sizes_b
        table.add_row(
            pid,
            p.method + (f" r{p.lora.r}" if p.lora else "") + (f" rank {p.galore.rank}" if p.galore else ""),
            p.quantization.mode if p.quantization.mode != "none" else "16-bit",
            p.optimizer,
            p.attention,
            "yes" if p.gradient_checkpointing else "no",
            f"{p.max_batch_size}×{p.max_seq_length}",
            f"{sizes.min:g}-{sizes.max:g}",
            "CPU" if p.is_cpu else f"{p.vram_gb:g}",
        )
    Console().print(table)


@armory_app.command()
def suggest(
    ctx: typer.Context,
    model_size: Annotated[float, typer.Option("--model-size", help="Model size in billions of parameters.")],
    vram: Annotated[float, typer.Option("--vram", help="GPU memory in GB (0 for a CPU).")],
    prefer: Annotated[
        str | None, typer.Option("--prefer", help="Preferred method: full, lora, qlora or galore.")
    ] = None,
) -> None:
    """Pick the memory profile for a model size and a GPU, and say why."""
    from rich.console import Console

    from realm_tui.armory.profiles import explain_suggestion, load_profiles

    found = load_profiles(current_realm(ctx).configs)
    s = explain_suggestion(model_size, vram, found, prefer)
    console = Console()
    console.print(f"[bold green]{s.profile.id}[/]  {s.profile.description}")
    console.print("Why:")
    for reason in s.reasons:
        console.print(f"  • {reason}")
    if s.fit is not None:
        p = s.profile
        est = s.fit.at_limits
        shape = "guessed shape" if s.arch.approximate else "exact config"
        console.print(
            f"Sizing ({s.arch.name}, {shape}): at the profile's limits (batch {p.max_batch_size} × "
            f"{p.max_seq_length} tokens) the calculator estimates {est.total_gib:.1f} GiB"
        )
        if est.total_gib <= vram:
            console.print(f"  fits in {vram:g} GB")
        elif s.fit.max_batch:
            console.print(f"  on {vram:g} GB keep batch ≤ {s.fit.max_batch} at {p.max_seq_length} tokens")
        elif s.fit.max_seq_at_batch_1:
            console.print(f"  on {vram:g} GB use batch 1 and sequences ≤ {s.fit.max_seq_at_batch_1} tokens")
        else:
            console.print(f"  [red]even batch 1 does not fit in {vram:g} GB by this estimate[/]")
    if s.rejected:
        console.print("Passed over:")
        for pid, why in s.rejected:
            console.print(f"  • {pid}: {why}")


@armory_app.command("vram")
def vram_cmd(
    ctx: typer.Context,
    hero: Annotated[str, typer.Option("--hero", help="Hero id.")],
    profile: Annotated[str | None, typer.Option("--profile", help="Memory profile id (default: the hero's).")] = None,
    batch: Annotated[int | None, typer.Option("--batch", min=1, help="Micro-batch size (default: the hero's).")] = None,
    seq_len: Annotated[
        int | None, typer.Option("--seq-len", min=8, help="Sequence length (default: the hero's max_length).")
    ] = None,
    precision: Annotated[
        str | None, typer.Option("--precision", help="fp32, amp_bf16, bf16 or bf16_master (default: from the hero).")
    ] = None,
    optimizer: Annotated[str | None, typer.Option("--optimizer", help="Optimizer (default: the hero's).")] = None,
) -> None:
    """Break down the memory a hero needs to train under a profile."""
    from realm_tui.armory.knobs import assess_knobs
    from realm_tui.armory.vram import PRECISION_MODES, estimate_for
    from realm_tui.battle.preflight import OPTIMISTIC
    from realm_tui.config.common import OPTIMIZERS
    from realm_tui.config.realm_config import load_hero, load_memory_profile
    from realm_tui.errors import InputError

    if precision is not None and precision not in PRECISION_MODES:
        raise InputError(None, f"--precision: choose one of {', '.join(PRECISION_MODES)}, not {precision!r}")
    if optimizer is not None and optimizer not in OPTIMIZERS:
        raise InputError(None, f"--optimizer: choose one of {', '.join(OPTIMIZERS)}, not {optimizer!r}")
    realm = current_realm(ctx)
    configs = realm.configs
    h = load_hero(configs, hero)
    p = load_memory_profile(configs, profile or h.memory_profile)
    b = batch or h.training_defaults.batch_size
    s = seq_len or h.training_defaults.max_length
    est = estimate_for(h, p, b, s, precision=precision, optimizer=optimizer, realm_root=realm.root)  # type: ignore[arg-type]
    opt = optimizer or h.training_defaults.optimizer
    _print_estimate(est, f"{h.id} · {p.id} · {opt} · batch {b} × {s} tokens")
    # Machine-independent knob problems (any machine would refuse): the sum above cannot train as given.
    report = assess_knobs(h, p, batch_size=b, seq_len=s, optimizer=opt, **OPTIMISTIC.as_kwargs())  # type: ignore[arg-type]
    if report.problems:
        typer.echo("warning: a battle with these settings would be refused:")
        for problem in report.problems:
            typer.echo(f"  • {problem}")


@armory_app.command()
def check(
    ctx: typer.Context,
    hero: Annotated[str, typer.Option("--hero", help="Hero id.")],
    profile: Annotated[str | None, typer.Option("--profile", help="Memory profile id (default: the hero's).")] = None,
    batch: Annotated[int | None, typer.Option("--batch", min=1, help="Micro-batch size (default: the hero's).")] = None,
    seq_len: Annotated[int | None, typer.Option("--seq-len", min=8, help="Sequence length.")] = None,
) -> None:
    """Check the hero's knobs against this machine; exit 2 if the battle would be refused."""
    from realm_tui.armory.knobs import assess_knobs
    from realm_tui.battle.preflight import environment_here
    from realm_tui.config.realm_config import load_hero, load_memory_profile

    configs = current_realm(ctx).configs
    h = load_hero(configs, hero)
    p = load_memory_profile(configs, profile or h.memory_profile)
    env = environment_here()  # probed in a subprocess: torch stays out of this process
    report = assess_knobs(h, p, batch_size=batch, seq_len=seq_len, **env.as_kwargs())  # type: ignore[arg-type]
    typer.echo(f"{h.id} under {p.id} on {env.device_name}:")
    for note in report.notes:
        typer.echo(f"  note: {note}")
    for problem in report.problems:
        typer.echo(f"  refused: {problem}", err=True)
    if report.problems:
        raise typer.Exit(2)
    typer.echo("  ready for battle")
