"""`realm vault drift A B`: how far each layer's weights moved between two checkpoints.

Registered on the vault group in cli/vault.py (`vault_app.command("drift")(vault_drift)`). The
numbers come from `realm_tui.services.archaeology` (a child process reads the safetensors); this
command shows its progress on stderr (a rich bar on a terminal, plain lines into a pipe) and the
answer on stdout. The store is read-only while computing; the answer is cached afterwards when
no other process holds the store for writing.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from realm_tui.cli.common import current_realm, user_errors

if TYPE_CHECKING:
    from realm_tui.services.archaeology import DriftReport, Progress
    from realm_tui.store.archaeology_cache import ArchaeologyRecord


@user_errors
def vault_drift(
    ctx: typer.Context,
    a: Annotated[
        str,
        typer.Argument(help="The older checkpoint (see `realm vault list`); alone: the newer one.", show_default=False),
    ],
    b: Annotated[
        str | None, typer.Argument(help="The newer checkpoint (default: A, compared with the one saved before it).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole report as one JSON object.")] = False,
) -> None:
    """Per-layer drift between two checkpoints: ‖ΔW‖/‖W‖ and cosine, with each one's weight statistics."""
    from realm_tui.services.archaeology import Archaeology
    from realm_tui.store.snapshot import open_for_reading

    newer, older = (b, a) if b is not None else (a, None)
    realm = current_realm(ctx)
    with open_for_reading(realm) as store:
        desk = Archaeology(realm, store, keep=lambda records: _keep(realm.store_file, records))
        with _progress_shown() as show:
            report = desk.drift(newer, older, on_progress=show)
    if as_json:
        typer.echo(json.dumps(report.as_json(), ensure_ascii=False))
        return
    _print(report)


def _keep(store_file: Path, records: list[ArchaeologyRecord]) -> None:
    """Cache the answer when no other process holds the store (it is only a cache)."""
    from realm_tui.errors import StoreError
    from realm_tui.store import Store

    try:
        with Store.open(store_file) as store:
            for record in records:
                store.archaeology.upsert(record)
    except StoreError:
        pass


class _progress_shown:
    """A context giving a progress hook: a rich bar on a terminal's stderr, plain lines otherwise."""

    def __enter__(self) -> Any:
        self._bar: Any = None
        self._last_stage = ""
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self._bar = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=Console(stderr=True)
            )
            self._bar.start()
            self._task = self._bar.add_task("verifying", total=None)
        return self.show

    def show(self, progress: Progress) -> None:
        if self._bar is not None:
            total = progress.total or None
            self._bar.update(self._task, description=progress.stage, completed=progress.done, total=total)
            return
        if progress.stage != self._last_stage:
            self._last_stage = progress.stage
            typer.echo(f"  {progress.stage}", err=True)
        elif progress.total and progress.done == progress.total:
            typer.echo(f"  {progress.done}/{progress.total} tensors", err=True)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()


def _print(report: DriftReport) -> None:
    from realm_tui.services.archaeology import drift_lines

    where = "cached" if report.cached else "computed"
    typer.echo(f"drift {report.a} → {report.b} ({where}); bar: ‖ΔW‖/‖W‖ per layer, scaled to the largest")
    for line in drift_lines(report):
        typer.echo(f"  {line}")
    t = report.total
    rel = "—" if t.rel_change is None else f"{t.rel_change:.3e}"
    cos = "—" if t.cosine is None else f"{t.cosine:.6f}"
    typer.echo(f"  whole model: ‖ΔW‖/‖W‖ {rel}  cosine {cos}  ({t.params:,} weights)")
    for label, names in (
        (f"only in {report.a}", report.only_in_a),
        (f"only in {report.b}", report.only_in_b),
        ("shape changed", report.shape_changed),
    ):
        if names:
            typer.echo(f"  {label}: {', '.join(names[:5])}{' …' if len(names) > 5 else ''}")
    s = report.stats_b
    kind = "LoRA adapter" if s.adapter else "full weights"
    typer.echo(f"{report.b} ({kind}): norm, mean, std, near-zero (|w| < {s.near_zero_below:g})")
    for row in [*s.layers, s.total]:
        extra = f"  adapter update ‖BA‖ {row.adapter_update_norm:.3e}" if row.adapter_update_norm is not None else ""
        typer.echo(
            f"  {row.layer:<14} norm {row.norm:9.4f}  mean {row.mean:+.2e}  std {row.std:.2e}  "
            f"near-zero {row.near_zero:6.2%}{extra}"
        )
