"""The Vault: checkpoints from the ledger; crown a champion, delete, export (a LoRA adapter merged into
its base in a child process), New Game+ from a checkpoint, disk usage, retention."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Static
from textual.worker import get_current_worker

from realm_tui.services.campaigns import CampaignRefusal
from realm_tui.services.export_child import ExportFailed
from realm_tui.services.paths import path_caption
from realm_tui.services.vault import VaultRefusal, VaultRow
from realm_tui.ui.keys import VAULT_BINDINGS
from realm_tui.ui.literal import escape
from realm_tui.ui.lore_text import LoreStatic, attach_lore
from realm_tui.ui.messages import CheckpointAdded, NotificationRaised, TaskFinished, TaskProgress
from realm_tui.ui.models import format_bytes, format_date, format_loss
from realm_tui.ui.screens.base import RealmScreen
from realm_tui.ui.screens.modals import ConfirmModal, ExportModal
from realm_tui.ui.widgets.drift import DriftPanel

WIDE = 112
"""Screens at least this wide show the skills column and the year of each save."""
TASK_TITLES = {"export": "Export", "new game+": "New Game+"}
BLESSING_MARKS = {"blessed": "✦ blessed", "partial": "◐ partial", "cursed": "✖ cursed", None: "· unjudged"}


class VaultScreen(RealmScreen):
    MODE = "vault"
    BINDINGS = VAULT_BINDINGS

    def compose_body(self) -> ComposeResult:
        with Vertical(id="vault"):
            yield attach_lore(
                DataTable(id="vault-table", cursor_type="row", zebra_stripes=True, classes="panel"),
                "checkpoint",
                "blessing",
                "champion",
                "checkpoint.latest",
                "checkpoint.damaged",
            )
            with Horizontal(id="vault-bottom"):
                yield LoreStatic("", id="vault-detail", classes="panel")
                yield LoreStatic("", id="vault-disk", classes="panel")
            yield DriftPanel("", id="vault-drift", classes="panel")

    def on_mount(self) -> None:
        self.query_one("#vault-table", DataTable).border_title = "Checkpoints (newest first)"
        self._wide: bool | None = None
        self.query_one("#vault-detail").border_title = "Selected"
        self.query_one("#vault-disk").border_title = "Disk & retention"
        self._rows: dict[str, VaultRow] = {}

    def _columns(self, table: DataTable[str]) -> bool:
        """Set the columns for the width: the skills column and the year only when there is room."""
        wide = self.size.width >= WIDE
        if wide != self._wide:
            self._wide = wide
            table.clear(columns=True)
            table.add_column("", key="mark", width=1)
            table.add_column("checkpoint", key="name")
            table.add_column("step", key="step", width=6)
            table.add_column("saved", key="date", width=16 if wide else 11)
            table.add_column("loss", key="loss", width=6)
            table.add_column("val", key="val", width=6)
            if wide:
                table.add_column("skills", key="skills", width=10)
            table.add_column("blessing", key="blessing", width=10)
            table.add_column("size", key="size", width=9)
        return wide

    def on_resize(self) -> None:
        if self._wide is not None and (self.size.width >= WIDE) != self._wide:
            self.refresh_view()

    def refresh_view(self) -> None:
        campaign = self.game.records.current_campaign()
        rows = self.game.vault.rows(campaign.id if campaign else None)
        table = self.query_one("#vault-table", DataTable)
        selected = self._selected()
        wide = self._columns(table)
        table.clear()
        self._rows = {r.name: r for r in rows}
        for r in rows:
            skills = " ".join(f"{k.upper()}{v}" for k, v in sorted(r.skill_levels.items())) or "—"
            mark = "★" if r.champion else ("◆" if r.latest else ("⚑" if r.name == self._drift_base() else ""))
            name = r.name if r.on_disk else f"{r.name} (missing)"
            name = f"{name} (damaged)" if r.damaged else name
            date = format_date(r.created_at)
            cells = [mark, name, str(r.step), date if wide else date[5:], format_loss(r.train_loss)[:6]]
            cells += [format_loss(r.val_loss)[:6], *([skills] if wide else [])]
            cells += [BLESSING_MARKS.get(r.blessing, r.blessing or ""), format_bytes(r.size_bytes)]
            table.add_row(*cells, key=r.name)
        if selected in self._rows:
            table.move_cursor(row=table.get_row_index(selected))
        self._show_detail()
        self._show_disk()

    def _selected(self) -> str | None:
        table = self.query_one("#vault-table", DataTable)
        if not table.row_count:
            return None
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        except Exception:  # no cursor cell in an empty table
            return None
        return str(key.value) if key.value is not None else None

    def _show_detail(self) -> None:
        row = self._rows.get(self._selected() or "")
        detail = self.query_one("#vault-detail", Static)
        if row is None:
            detail.update("[dim]No checkpoints yet: a battle saves them every save_steps steps.[/]")
            return
        marks = [
            m
            for m, on_ in (
                ("★ champion", row.champion),
                ("◆ latest", row.latest),
                ("adapter", row.adapter),
                ("⚑ drift measured from here (m)", row.name == self._drift_base()),
            )
            if on_
        ]
        skills = " ".join(f"{k.upper()} {v}" for k, v in sorted(row.skill_levels.items())) or "no skill levels"
        detail.update(
            f"[b]{escape(row.name)}[/]  {'  '.join(marks)}\n"
            f"step {row.step} · saved {format_date(row.created_at)} · {format_bytes(row.size_bytes)} · {skills}\n"
            f"train loss {format_loss(row.train_loss)} · val loss {format_loss(row.val_loss)} · "
            f"{BLESSING_MARKS.get(row.blessing, row.blessing or '')}\n"
            f"path {escape(path_caption(self.game.configs, row.training_path))}\n"
            "[dim]c crown · d delete · e export (saves/exports/) · n New Game+ from here[/]"
        )

    def _drift_base(self) -> str | None:
        """The checkpoint marked with `m` as the one drift is measured from."""
        return self.query_one(DriftPanel).marked

    def _show_disk(self) -> None:
        game = self.game
        campaign = game.records.current_campaign()
        report = game.vault.disk(campaign.id if campaign else None)
        hero = game.configs.heroes.get(campaign.hero_id) if campaign else None
        retention = game.vault.retention_text(hero.retention) if hero else "—"
        self.query_one("#vault-disk", Static).update(
            f"checkpoints [b]{report.checkpoints}[/] using [b]{format_bytes(report.checkpoints_bytes)}[/]\n"
            f"free [b]{format_bytes(report.free_bytes)}[/] of {format_bytes(report.total_bytes)}\n"
            f"retention: {escape(retention)}"
        )

    @on(DataTable.RowHighlighted, "#vault-table")
    def _highlighted(self) -> None:
        self._show_detail()
        self.query_one(DriftPanel).follow(self.game.archaeology, self._selected())

    def action_drift(self) -> None:
        """Compute the selected checkpoint's drift from the marked (or previous) one."""
        name = self._selected()
        if name is None:
            self.notify_refusal("select a checkpoint first")
            return
        self.query_one(DriftPanel).compute(self.game.archaeology, name)

    def action_mark_drift(self) -> None:
        """Mark the selected checkpoint as the one drift is measured from (again: unmark)."""
        panel, name = self.query_one(DriftPanel), self._selected()
        panel.marked = None if name == panel.marked else name
        self.notify(f"drift is measured from {panel.marked or 'the previous checkpoint'}", title="Vault", markup=False)
        self.refresh_view()  # the ⚑ moves to the marked row
        panel.follow(self.game.archaeology, name)

    # ------------------------------------------------------------ actions

    def _target(self) -> str | None:
        """The selected checkpoint for an action that writes, or None (and the player is told why)."""
        if not self.writable():
            return None
        name = self._selected()
        if name is None:
            self.notify_refusal("select a checkpoint first")
        return name

    def action_promote(self) -> None:
        name = self._target()
        if name is None:
            return
        try:
            note = self.game.vault.promote(name)
        except VaultRefusal as err:
            self.notify_refusal(str(err))
            return
        self.app.post_message(NotificationRaised(note))
        self.refresh_view()

    def action_delete(self) -> None:
        name = self._target()
        if name is None:
            return
        try:
            reason = self.game.vault.can_delete(name)
        except VaultRefusal as err:
            reason = str(err)
        if reason:
            self.notify_refusal(reason)
            return

        def done(confirmed: bool | None) -> None:
            if not confirmed:
                return
            try:
                self.game.vault.delete(name)
            except VaultRefusal as err:
                self.notify_refusal(str(err))
                return
            self.notify(f"{name} deleted", title="Vault", markup=False)
            self.refresh_view()

        self.app.push_screen(ConfirmModal(f"Delete {name}? Its folder is removed from disk.", yes="Delete"), done)

    def action_export(self) -> None:
        name = self._target()
        if name is None:
            return
        try:
            adapter = self.game.vault.is_adapter(name)
        except VaultRefusal as err:
            self.notify_refusal(str(err))
            return
        if not adapter:
            self._export(name, merge=False)
            return

        def chosen(choice: str | None) -> None:
            if choice in ("merged", "adapter"):
                self._export(name, merge=choice == "merged")

        target = self.game.vault.export_dir(name).relative_to(self.game.realm.root).as_posix()
        self.app.push_screen(ExportModal(name, target), chosen)

    @work(thread=True, group="vault", exit_on_error=False, name="export", description="exporting a checkpoint")
    def _export(self, name: str, merge: bool) -> None:
        worker = get_current_worker()

        def stage(text: str) -> None:
            self.post_message(TaskProgress("export", f"{name}: {text}"))

        try:
            target = self.game.vault.export(name, merge=merge, on_stage=stage, cancelled=lambda: worker.is_cancelled)
        except (VaultRefusal, ExportFailed, OSError) as err:
            self.post_message(TaskFinished("export", "", f"export of {name} failed: {err}"))
            return
        how = "merged into its base and " if merge else ""
        self.post_message(TaskFinished("export", f"{name} {how}exported to {target}"))

    def action_new_game_plus(self) -> None:
        name = self._target()
        if name is None:
            return
        if self.game.trainer_state.busy:
            self.notify_refusal("a battle is running: stop it (x) before starting New Game+")
            return

        def done(confirmed: bool | None) -> None:
            if confirmed and not self.game.trainer_state.busy:
                self._new_game_plus(name)

        question = (
            f"Start New Game+ from {name}? A new campaign begins from these weights with their skill levels; "
            "the current campaign is paused (its checkpoints stay in the ledger)."
        )
        self.app.push_screen(ConfirmModal(question, yes="New Game+", danger=False), done)

    @work(thread=True, exclusive=True, group="campaign", exit_on_error=False, name="new game+")
    def _new_game_plus(self, name: str) -> None:
        try:
            record = self.game.campaigns.new_game_plus(name)
        except CampaignRefusal as err:
            self.post_message(TaskFinished("new game+", "", str(err)))
            return
        self.post_message(TaskFinished("new game+", f"campaign {record.id} starts from {name}"))

    def action_disk_usage(self) -> None:
        self._show_disk()
        self.notify("disk usage measured", title="Vault", timeout=2, markup=False)

    def on_task_progress(self, message: TaskProgress) -> None:
        self.notify(message.text, title=f"{message.task.capitalize()} running", timeout=4, markup=False)

    def on_task_finished(self, message: TaskFinished) -> None:
        if message.error:
            self.notify_refusal(message.error)
            return
        self.notify(message.result, title=TASK_TITLES.get(message.task, message.task.capitalize()), markup=False)
        if message.task == "new game+":
            self.refresh_view()

    def on_checkpoint_added(self, message: CheckpointAdded) -> None:
        self.refresh_view()
