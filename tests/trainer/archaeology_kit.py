"""Real tiny checkpoints for the archaeology tests: a dio-nano hero saved twice, once as built and
once with one layer's weights moved (the rest untouched, as if frozen), each with its manifest
and a ledger record in a fresh realm."""

from __future__ import annotations

from pathlib import Path

import torch
from trainer_testkit import TINY_NANO

from realm_tui.config.realm_config import DEFAULT_HERO
from realm_tui.contract import manifest as mf
from realm_tui.paths import RealmPaths
from realm_tui.services.init_realm import init_realm
from realm_tui.store import CampaignRecord, CheckpointRecord, Store

CAMPAIGN = "drift-campaign"
MOVED = "model.layers.1.mlp.up_proj.weight"
"""The one tensor the second checkpoint changes (so layer `layers.1` drifts, nothing else)."""


def save_checkpoint(realm: RealmPaths, name: str, step: int, model: torch.nn.Module | None = None) -> Path:
    from realm_tui.trainer import nano

    folder = realm.checkpoints / name
    if model is None:
        nano.build_nano_hero(TINY_NANO, folder)
    else:
        model.save_pretrained(folder, safe_serialization=True)
    mf.write_manifest(folder, {"step": step})
    with Store.open(realm.store_file) as store:
        if CAMPAIGN not in store.campaigns:
            store.campaigns.add(CampaignRecord(id=CAMPAIGN, hero_id=DEFAULT_HERO))
        store.ledger.add(
            CheckpointRecord(
                name=name,
                campaign_id=CAMPAIGN,
                hero_id="tiny",
                step=step,
                path=folder.relative_to(realm.root).as_posix(),
                size_bytes=mf.manifest_size(folder),
            )
        )
    return folder


def two_checkpoints(root: Path) -> tuple[RealmPaths, Path, Path]:
    """A realm whose campaign has checkpoint-1 (as built) and checkpoint-2 (one tensor moved)."""
    from transformers import AutoModelForCausalLM

    realm, _ = init_realm(root)
    first = save_checkpoint(realm, "checkpoint-1", 1)
    model = AutoModelForCausalLM.from_pretrained(first, use_safetensors=True)
    with torch.no_grad():
        weight = dict(model.named_parameters())[MOVED]
        weight.add_(torch.randn(weight.shape, generator=torch.Generator().manual_seed(3)) * 0.01)
    second = save_checkpoint(realm, "checkpoint-2", 2, model)
    return realm, first, second
