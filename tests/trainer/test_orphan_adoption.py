"""Issue 13, defect 8, with real trainer saves: a parent killed after the trainer renamed its
checkpoint folder but before the ledger commit (or a trainer that saved its final checkpoint after
its parent died) leaves complete, unlisted folders. The next battle start adopts those newer than
the ledger's latest, resumes from the newest, removes the older ones, and says so."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from realm_tui.battle.setup import plan_battle
from realm_tui.config.realm_config import load_realm_configs
from realm_tui.contract.manifest import is_valid_checkpoint
from realm_tui.contract.protocol import CheckpointSaved
from realm_tui.services.init_realm import init_realm
from realm_tui.store import CampaignRecord, CheckpointRecord, Store


def test_unlisted_trainer_saves_are_adopted_at_the_next_start(make_job, battle, tmp_path: Path) -> None:
    realm, _ = init_realm(tmp_path / "realm")
    with Store.open(realm.store_file) as store:
        store.campaigns.add(CampaignRecord(id="c1", hero_id="dio-nano"))
    # A first battle: its step-2 save was committed, then the parent died (its later saves, at 4
    # and the final 6, were never listed).
    stopped, events = battle(
        make_job(max_steps=6, save_steps=2, checkpoints_dir=str(realm.checkpoints), campaign_id="c1")
    )
    saves = {c.step: Path(c.path) for c in events.of(CheckpointSaved)}
    assert sorted(saves) == [2, 4, 6] and all(is_valid_checkpoint(p) for p in saves.values())
    with Store.open(realm.store_file) as store:
        store.ledger.add(
            CheckpointRecord(
                name=saves[2].name,
                campaign_id="c1",
                hero_id="dio-nano",
                step=2,
                path=saves[2].relative_to(realm.root).as_posix(),
            )
        )
    stale = realm.checkpoints / "checkpoint-1-20200101-0000"  # older than the ledger's latest
    shutil.copytree(saves[2], stale)
    final = Path(stopped.checkpoint)
    assert final == saves[6]

    quest = realm.root / "q.jsonl"
    quest.write_text(
        json.dumps({"messages": [{"role": "user", "content": "1+1="}, {"role": "assistant", "content": "2"}]}) + "\n"
    )
    with Store.open(realm.store_file) as store:
        plan = plan_battle(realm, load_realm_configs(realm.configs), store, quest=quest, steps=1)
        names = [r.name for r in store.ledger.by_campaign("c1")]
    assert sorted(names) == sorted(saves[s].name for s in (2, 4, 6))
    assert plan.resumed_from is not None and plan.resumed_from.step == 6
    assert plan.job.resume_from == str(final)
    assert not stale.exists() and all(p.exists() for p in saves.values())
    assert any(f"adopted {final.name}" in note for note in plan.notes)
    assert any(f"adopted {saves[4].name}" in note for note in plan.notes)
    assert any(f"removed the unlisted checkpoint folder {stale.name}" in note for note in plan.notes)
