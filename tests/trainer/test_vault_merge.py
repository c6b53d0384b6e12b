"""The Vault's merged export of a real tiny LoRA checkpoint, end to end: `e` then `m` on the Vault
screen runs `realm_tui.trainer.entry.export` in a child process; the merged folder loads with
transformers alone and gives the logits of base + adapter. `realm vault export` (same path)
writes the same weights."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

from realm_tui.config.realm_config import DEFAULT_HERO
from realm_tui.services.init_realm import init_realm
from realm_tui.store import CampaignRecord, CheckpointRecord, Store

LORA = {"method": "lora", "lora": {"r": 4, "alpha": 8.0, "dropout": 0.0}, "gradient_checkpointing": False}


async def _export_from_the_vault(root: Path) -> list[tuple[str, str]]:
    from realm_tui.ui.app import create_app
    from realm_tui.ui.game import GameOptions
    from realm_tui.ui.screens.modals import ExportModal

    app = create_app(root, GameOptions(inbox_poll_s=0, realm_label="test"))
    toasts: list[tuple[str, str]] = []
    notify = app.notify

    def spy(message: str, *, title: str = "", **kwargs: Any) -> None:
        toasts.append((title, str(message)))
        notify(message, title=title, **kwargs)

    app.notify = spy  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("4")
        await pilot.pause()
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ExportModal)
        await pilot.press("m")
        deadline = time.monotonic() + 120
        while not any(t in ("Export", "Not done") for t, _m in toasts):
            assert time.monotonic() < deadline, toasts
            await pilot.pause(0.1)
    return toasts


def test_vault_exports_merged_lora_weights(make_job: Any, battle: Any, tmp_path: Path) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from realm_tui.trainer.entry.export import adapter_base

    realm, _ = init_realm(tmp_path / "realm")
    job = make_job(max_steps=3, memory_profile=LORA, learning_rate=2e-2, checkpoints_dir=str(realm.checkpoints))
    stopped, _ = battle(job)
    folder = Path(stopped.checkpoint)
    with Store.open(realm.store_file) as store:
        store.campaigns.add(CampaignRecord(id="lora-campaign", hero_id=DEFAULT_HERO))
        store.ledger.add(
            CheckpointRecord(
                name=folder.name,
                campaign_id="lora-campaign",
                hero_id="tiny",
                step=3,
                path=folder.relative_to(realm.root).as_posix(),
                adapter=True,
            )
        )

    toasts = asyncio.run(_export_from_the_vault(realm.root))
    assert ("Export running", f"{folder.name}: merging the adapter into its base") in toasts
    assert [m for t, m in toasts if t == "Export"] == [
        f"{folder.name} merged into its base and exported to {realm.saves / 'exports' / folder.name}"
    ], toasts
    merged_dir = realm.saves / "exports" / folder.name
    assert (merged_dir / "model.safetensors").is_file() and not (merged_dir / "adapter_config.json").exists()

    merged = AutoModelForCausalLM.from_pretrained(merged_dir, use_safetensors=True).eval()
    base = AutoModelForCausalLM.from_pretrained(adapter_base(folder), use_safetensors=True)
    with_adapter = PeftModel.from_pretrained(base, folder).eval()
    ids = torch.tensor([[5, 17, 42, 99, 7, 3]])
    with torch.no_grad():
        expected = with_adapter(input_ids=ids).logits
        got = merged(input_ids=ids).logits
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)

    out = tmp_path / "cli-merged"
    env = {k: v for k, v in os.environ.items() if k != "REALM_HOME"}
    cmd = [sys.executable, "-m", "realm_tui", "--home", str(realm.root), "vault", "export", "latest", "-o", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "merged and exported" in done.stdout
    cli_weights, vault_weights = (
        load_file(str(out / "model.safetensors")),
        load_file(str(merged_dir / "model.safetensors")),
    )
    assert cli_weights.keys() == vault_weights.keys()
    for name, tensor in vault_weights.items():
        torch.testing.assert_close(cli_weights[name], tensor)
