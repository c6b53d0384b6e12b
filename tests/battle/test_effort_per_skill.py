"""Effort per skill is real: each step says which sources its examples came from, and the
campaign's effort per skill (the Guild's figure) grows only for the skills that trained."""

from __future__ import annotations

from pathlib import Path

from battle_kit import make_tiny_realm, run_json

from realm_tui.store import Store


def test_a_battle_records_effort_for_the_skills_it_trained(tmp_path: Path) -> None:
    realm = make_tiny_realm(tmp_path / "realm", save_steps=1000)
    code, events = run_json(realm, "--steps", "12", timeout=300)
    assert code == 0, [e for e in events if e["event"] in ("Error", "Stopped")]
    steps = [e for e in events if e["event"] == "Step"]
    assert steps and all(e["mix"] and all(n > 0 for n in e["mix"].values()) for e in steps), steps[:2]
    assert any("quest" in e["mix"] for e in steps) and any("bin" in e["mix"] for e in steps)
    assert not any("sy" in e["mix"] for e in steps), "SY joins only after BIN L2"
    with Store.open(realm.store_file, readonly=True) as store:
        (campaign,) = store.campaigns.all()
    assert campaign.effort.get("bin", 0.0) > 0.0, campaign.effort
    assert campaign.effort.get("sy", 0.0) == 0.0, campaign.effort
