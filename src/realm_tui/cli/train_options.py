"""`realm train` options for where a battle runs, which path it follows, how it ends and where its
metrics go (`--launch`, `--path`, `--stop-when`, `--plateau-evals`, `--report-to`): kept here so
the train command stays short."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from realm_tui.rules.plateau import DEFAULT_PLATEAU_EVALS, StopWhen

LaunchOption = Annotated[
    str | None,
    typer.Option(
        "--launch",
        help="Train on many processes with this launcher, e.g. "
        "'accelerate launch --config_file configs/accelerate/ddp.yaml' (see docs/scaling.md).",
    ),
]
PathOption = Annotated[
    str | None,
    typer.Option("--path", help="Follow this path (TECHNIQUE@DOMAIN, see `realm paths`) from now on."),
]
StopWhenOption = Annotated[
    StopWhen | None,
    typer.Option(
        "--stop-when",
        help="steps: end at --steps; plateau: also end once no trained skill's training-level accuracy "
        "improved over --plateau-evals evals (default: stop_when in configs/curriculum.yaml).",
    ),
]
PlateauEvalsOption = Annotated[
    int | None,
    typer.Option(
        "--plateau-evals",
        min=1,
        help=f"Evals without improvement that end a plateau battle (default {DEFAULT_PLATEAU_EVALS}).",
    ),
]
ReportToOption = Annotated[
    str,
    typer.Option(
        "--report-to",
        help="Metrics to tensorboard (saves/runs/), wandb (pip install 'realm-tui\\[wandb]'; "
        "WANDB_MODE=offline works without a network), or tensorboard,wandb.",
    ),
]


def given_flags(stop_when: StopWhen | None, plateau_evals: int | None, report_to: str) -> dict[str, bool]:
    """Which of these headless-only flags were given (the game refuses them)."""
    return {
        "--stop-when": stop_when is not None,
        "--plateau-evals": plateau_evals is not None,
        "--report-to": report_to != "tensorboard",
    }


def headless_kwargs(stop_when: StopWhen | None, plateau_evals: int | None, report_to: str) -> dict[str, Any]:
    """`run_headless` keywords of these flags (InputError: an unknown --report-to name)."""
    from realm_tui.battle.watch import parse_report_to

    return {
        "stop_when": stop_when.value if stop_when is not None else None,
        "plateau_evals": plateau_evals,
        "reports": parse_report_to(report_to),
    }
