"""The Vault's drift panel: how far each layer's weights moved between two checkpoints, as text bars.

It only shows what it is given (a hint, a progress line, a report, an error); the Vault screen
runs `realm_tui.services.archaeology` in a worker and hands the answers here.
"""

from __future__ import annotations

from textual import work
from textual.widgets import Static
from textual.worker import get_current_worker

from realm_tui.errors import RealmError
from realm_tui.services.archaeology import Archaeology, DriftReport, Progress, bar_text, drift_lines
from realm_tui.services.vault import VaultRefusal
from realm_tui.ui.literal import escape

BAR_WIDTH = 32


class DriftPanel(Static):
    """Per-layer ‖ΔW‖/‖W‖ bars (scaled to the layer that moved most) with the cosine of each."""

    DEFAULT_CSS = """
    DriftPanel {
        height: auto;
        max-height: 16;
        overflow-y: auto;
        padding: 0 1;
    }
    """

    marked: str | None = None
    """The checkpoint picked (`m`) as the one to compare with, instead of the previous one."""

    def on_mount(self) -> None:
        self.border_title = "Drift"

    def follow(self, desk: Archaeology, b: str | None) -> None:
        """Show the drift of `b` from the marked checkpoint (or its previous one) when it is
        cached; else say which key computes it. Runs on the UI thread: reads two manifests."""
        if b is None:
            self.show_hint("No checkpoints yet.")
            return
        a = self.marked if self.marked != b else None
        if a is None:
            a = desk.previous(b) if b in desk.store.ledger else None
        if a is None:
            self.show_hint(f"{b} is the first checkpoint: m marks another one to compare it with.")
            return
        report = desk.cached_drift(b, a)
        if report is not None:
            self.show_report(report)
        else:
            mark = " (marked)" if a == self.marked else ""
            self.show_hint(f"f: how far each layer moved from {a}{mark} to {b} · m: compare with another")

    @work(thread=True, exclusive=True, group="drift", exit_on_error=False, name="drift", description="drift")
    def compute(self, desk: Archaeology, b: str) -> None:
        """The drift of `b` from the marked (or previous) checkpoint, in a child process."""
        worker = get_current_worker()
        a = self.marked if self.marked != b else None

        def heard(progress: Progress) -> None:
            text = progress.stage
            if progress.total:
                text += f"  ▕{bar_text(progress.done, progress.total, 20)}▏ {progress.done}/{progress.total} tensors"
            self.app.call_from_thread(self.show_progress, text)

        self.app.call_from_thread(self.show_progress, f"drift of {b}: starting")
        try:
            report = desk.drift(b, a, on_progress=heard, cancelled=lambda: worker.is_cancelled)
        except (RealmError, VaultRefusal, OSError) as err:
            if not worker.is_cancelled:
                self.app.call_from_thread(self.show_error, str(err))
            return
        self.app.call_from_thread(self.show_report, report)

    def show_hint(self, text: str) -> None:
        self.border_title = "Drift"
        self.update(f"[dim]{escape(text)}[/]")

    def show_progress(self, text: str) -> None:
        self.update(f"[b]⏳[/] {escape(text)}")

    def show_error(self, text: str) -> None:
        self.update(f"[red]✖[/] {escape(text)}")

    def show_report(self, report: DriftReport) -> None:
        self.border_title = f"Drift {report.a} → {report.b}"
        t = report.total
        whole = "—" if t.rel_change is None else f"{t.rel_change:.2e}"
        cos = "—" if t.cosine is None else f"{t.cosine:.6f}"
        kind = "LoRA adapter" if report.stats_b.adapter else "full weights"
        lines = [escape(line) for line in drift_lines(report, BAR_WIDTH)]
        lines.append(
            f"[dim]‖ΔW‖/‖W‖ per layer, bars scaled to the largest · whole model {whole} · cosine {cos} · "
            f"{kind}{' · cached' if report.cached else ''}[/]"
        )
        if report.only_in_a or report.only_in_b or report.shape_changed:
            odd = len(report.only_in_a) + len(report.only_in_b) + len(report.shape_changed)
            lines.append(f"[yellow]{odd} tensor(s) not compared: added, removed or reshaped[/]")
        self.update("\n".join(lines))
