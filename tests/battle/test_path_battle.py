"""A real tiny battle on a path (issue 17 point 1): `realm train --no-ui --path muon@arithmetic`
trains with Muon (the checkpoint's manifest and optimizer state say so), only the domain's skill,
and records the path in the ledger; a campaign cannot switch to another optimizer's path, and a
path the hero's memory profile refuses is refused before the battle."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import torch
from battle_kit import child_env, realm_cmd, run_json

from realm_tui.paths import RealmPaths
from realm_tui.store.db import open_store


def _train(realm: RealmPaths, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        realm_cmd(realm, "train", "--no-ui", "--hero", "tiny", *args),
        capture_output=True,
        text=True,
        timeout=240,
        env=child_env(),
    )


def test_a_battle_on_a_path_trains_with_its_physics_and_records_the_path(tiny_realm: RealmPaths) -> None:
    code, events = run_json(tiny_realm, "--path", "muon@arithmetic", "--steps", "5")
    assert code == 0, events[-3:]
    said = [e["text"] for e in events if e.get("event") == "Message"]
    assert any(t.startswith("path muon@arithmetic: 🧲 The Orthogonal Way (muon") for t in said), said
    logs = [e.get("message", "") for e in events if e.get("event") == "Log"]
    assert any("optimizer muon" in line for line in logs), logs  # the battle's start lines name it
    evals = {e["skill"] for e in events if e.get("event") == "EvalResult"}
    assert "bin" in evals and "sy" not in evals  # the arithmetic domain trains and judges BIN only

    store = open_store(tiny_realm, readonly=True)
    try:
        campaign = store.campaigns.active("tiny")
        assert campaign is not None and campaign.training_path == "muon@arithmetic"
        checkpoints = store.ledger.by_campaign(campaign.id)
        assert checkpoints and all(c.training_path == "muon@arithmetic" for c in checkpoints)
        folder = tiny_realm.root / checkpoints[-1].path
    finally:
        store.close()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["optimizer"] == "muon"
    state = torch.load(folder / "trainer_state.pt", weights_only=True)
    groups = state["optimizer"]["param_groups"]
    assert any("ns_steps" in g for g in groups)  # Muon's own group, not AdamW's alone

    # Another optimizer cannot continue these checkpoints: refused, naming the way out.
    out = _train(tiny_realm, "--path", "adamw@arithmetic", "--steps", "1")
    assert out.returncode == 2, out.stdout[-500:]
    message = " ".join(out.stderr.split())
    assert "checkpoints were trained on path muon@arithmetic" in message
    assert "--fresh --path adamw@arithmetic" in message


def test_a_path_the_profile_refuses_is_refused_before_the_battle(tiny_realm: RealmPaths) -> None:
    out = _train(tiny_realm, "--path", "galore@reasoning", "--steps", "1")
    assert out.returncode == 2
    message = " ".join(out.stderr.split())
    assert "path galore@reasoning: hero tiny's memory profile cpu_tiny refuses technique galore" in message
    store = open_store(tiny_realm, readonly=True)
    try:
        assert store.campaigns.all() == []  # nothing written
    finally:
        store.close()
    out = _train(tiny_realm, "--path", "muon@nowhere", "--steps", "1")
    assert out.returncode == 2
    assert "unknown path 'muon@nowhere'" in out.stderr


def test_without_a_path_the_battle_records_the_default_path(tiny_realm: RealmPaths) -> None:
    code, events = run_json(tiny_realm, "--steps", "5")
    assert code == 0, events[-3:]
    store = open_store(tiny_realm, readonly=True)
    try:
        latest = store.ledger.latest()
        assert latest is not None and latest.training_path is None
        assert store.campaigns.get(latest.campaign_id).training_path is None  # type: ignore[union-attr]
        folder: Path = tiny_realm.root / latest.path
    finally:
        store.close()
    assert json.loads((folder / "manifest.json").read_text())["optimizer"] == "adamw"  # the hero's own
