"""Exporting an adapter checkpoint from the Vault: the dialog (merged / adapter / cancel), the
merge in a child process reporting failure as a toast, and `realm vault list|export` (no torch
in this process either way; the real merge is tests/trainer/test_vault_merge.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import DataTable
from ui_testkit import CAMPAIGN, T0
from uiwait import Toasts, wait_for

from realm_tui.contract.manifest import write_manifest
from realm_tui.paths import RealmPaths
from realm_tui.store import CheckpointRecord, Store
from realm_tui.ui.app import RealmApp
from realm_tui.ui.screens.modals import ExportModal
from realm_tui.ui.screens.vault import VaultScreen

ADAPTER = "checkpoint-2300-20260101-0530"

pytestmark = pytest.mark.anyio


def add_adapter_checkpoint(realm: RealmPaths) -> Path:
    """An adapter checkpoint whose base folder does not exist (a merge must fail, clearly)."""
    folder = realm.checkpoints / ADAPTER
    folder.mkdir(parents=True)
    config = {"base_model_name_or_path": str(realm.root / "no-such-base"), "peft_type": "LORA", "r": 4}
    (folder / "adapter_config.json").write_text(json.dumps(config))
    (folder / "adapter_model.safetensors").write_bytes(bytes(512))
    (folder / "trainer_state.pt").write_bytes(b"state")
    write_manifest(folder, {"step": 2300, "name": ADAPTER})
    with Store.open(realm.store_file) as store:
        store.ledger.add(
            CheckpointRecord(
                name=ADAPTER,
                campaign_id=CAMPAIGN,
                hero_id="dio-nano",
                step=2300,
                created_at=T0 + 3600 * 5.5,
                path=folder.relative_to(realm.root).as_posix(),
                size_bytes=2048,
                adapter=True,
            )
        )
    return folder


async def test_adapter_export_asks_merged_or_adapter(make_app: Callable[..., RealmApp], realm: RealmPaths) -> None:
    add_adapter_checkpoint(realm)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        toasts = Toasts(app)
        await pilot.press("4")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, VaultScreen)
        table = screen.query_one("#vault-table", DataTable)
        table.move_cursor(row=table.get_row_index(ADAPTER))
        target = realm.saves / "exports" / ADAPTER
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ExportModal)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ExportModal) and not target.exists()

        await pilot.press("e", "m")  # merged: the child cannot find the base and says so
        await wait_for(pilot, lambda: "failed" in toasts.text(), timeout=60, what="merge failure toast")
        assert "Export running" in toasts.titles()  # the stage the child announced
        assert "no usable tokenizer" in toasts.text() or "no-such-base" in toasts.text()
        assert not target.exists()
        assert not [p for p in target.parent.iterdir() if p.name.startswith(".tmp-")]

        await pilot.press("e", "a")  # the adapter as is
        await wait_for(pilot, lambda: "Export" in toasts.titles(), what="export done")
        assert sorted(p.name for p in target.iterdir()) == ["adapter_config.json", "adapter_model.safetensors"]


def realm_cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "REALM_HOME"}
    cmd = [sys.executable, "-m", "realm_tui", "--home", str(root), *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)


def test_realm_vault_list_and_export(realm: RealmPaths, tmp_path: Path) -> None:
    listed = realm_cli(realm.root, "vault", "list")
    assert listed.returncode == 0, listed.stderr
    assert "★ checkpoint-1800-20260101-0400" in listed.stdout and "◆ checkpoint-2400" in listed.stdout
    out = tmp_path / "champion-hf"
    done = realm_cli(realm.root, "vault", "export", "champion", "--output", str(out))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "model.safetensors"]
    again = realm_cli(realm.root, "vault", "export", "champion", "--output", str(out))
    assert again.returncode == 2 and "exists already" in again.stderr
    missing = realm_cli(realm.root, "vault", "export", "checkpoint-9-nowhere")
    assert missing.returncode == 2 and "not in the ledger" in missing.stderr
