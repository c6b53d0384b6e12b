"""Issue 13, defect 5, end to end: `realm train --no-ui` on a tiny realm. A checkpoint whose
`trainer_state.pt` holds a pickle `weights_only` refuses (its manifest recomputed, so it verifies)
ends one battle with a clear error; the ledger marks it damaged; the next battle falls back to the
newest good checkpoint, says so, and never retries the bad one."""

from __future__ import annotations

import datetime

import torch
from battle_kit import run_json

from realm_tui.contract.manifest import write_manifest
from realm_tui.paths import RealmPaths
from realm_tui.store import Store


def messages(events: list[dict]) -> str:
    return "\n".join(e.get("text", "") for e in events if e["event"] == "Message")


def test_a_refused_trainer_state_is_marked_and_the_next_battle_falls_back(tiny_realm: RealmPaths) -> None:
    code, _ = run_json(tiny_realm, "--steps", "6")  # saves at 5 and 6
    assert code == 0
    with Store.open(tiny_realm.store_file, readonly=True) as store:
        good, bad = store.ledger.all()
    folder = tiny_realm.root / bad.path
    torch.save({"step": 6, "when": datetime.datetime(2026, 1, 1)}, folder / "trainer_state.pt")  # not weights-only
    (folder / "manifest.json").unlink()
    write_manifest(folder, {"step": 6, "name": folder.name, "hero_id": "tiny"})

    code, events = run_json(tiny_realm, "--steps", "2")
    errors = [e for e in events if e["event"] == "Error" and e.get("fatal")]
    assert code == 1 and errors and "trainer state cannot be read" in errors[0]["message"]
    with Store.open(tiny_realm.store_file, readonly=True) as store:
        assert "trainer state cannot be read" in (store.ledger.require(bad.name).damaged or "")

    code, events = run_json(tiny_realm, "--steps", "2")
    assert code == 0, messages(events)
    text = messages(events)
    assert (
        f"checkpoint {bad.name} is damaged" in text
        and f"falling back to the newest good checkpoint: {good.name}" in text
    )
    steps = [e["step"] for e in events if e["event"] == "Step"]
    assert steps and min(steps) == good.step + 1
