"""Whisper's teacher by hero id: `--teacher flo` resolves to flo's champion, else latest checkpoint.

Real realm, real store and real checkpoint folders (manifest-verified); no torch: this is what the
parent decides before a battle (`battle.setup.plan_battle`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from realm_tui.battle.setup import plan_battle
from realm_tui.config.realm_config import load_realm_configs
from realm_tui.contract.manifest import write_manifest
from realm_tui.errors import InputError
from realm_tui.paths import RealmPaths
from realm_tui.services.init_realm import init_realm
from realm_tui.store import CampaignRecord, CheckpointRecord, Store


def checkpoint(realm: RealmPaths, store: Store, campaign: str, name: str, step: int, **extra: object) -> Path:
    folder = realm.checkpoints / "flo" / name
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(bytes(64))
    (folder / "config.json").write_text(json.dumps({"model_type": "qwen3"}))
    (folder / "tokenizer.json").write_text("{}")
    write_manifest(folder, {"step": step, "name": name})
    path = folder.relative_to(realm.root).as_posix()
    store.ledger.add(CheckpointRecord(name=name, campaign_id=campaign, hero_id="flo", step=step, path=path, **extra))
    return folder


@pytest.fixture
def realm(tmp_path: Path) -> RealmPaths:
    realm, _ = init_realm(tmp_path / "realm")
    rows = [
        {"messages": [{"role": "user", "content": f"{a}+1="}, {"role": "assistant", "content": "?"}]} for a in range(4)
    ]
    (realm.root / "q.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return realm


def teacher_of(realm: RealmPaths, teacher: str) -> str:
    with Store.open(realm.store_file) as store:
        plan = plan_battle(
            realm,
            load_realm_configs(realm.configs),
            store,
            hero_id="dio-nano",
            quest=realm.root / "q.jsonl",
            steps=1,
            school="whisper",
            school_options={"teacher": teacher},
        )
    return str(plan.job.school_options["teacher"])


def test_a_hero_id_teaches_with_its_champion_else_its_latest_checkpoint(realm: RealmPaths) -> None:
    with Store.open(realm.store_file) as store:
        store.campaigns.add(CampaignRecord(id="flo-old", hero_id="flo", status="paused"))
        older = checkpoint(realm, store, "flo-old", "ck-old", 50)
        store.campaigns.add(CampaignRecord(id="flo-now", hero_id="flo"))
        champion = checkpoint(realm, store, "flo-now", "ck-100", 100, champion=True)
        latest = checkpoint(realm, store, "flo-now", "ck-200", 200)
        broken = checkpoint(realm, store, "flo-now", "ck-300", 300)
        (broken / "model.safetensors").write_bytes(bytes(63))  # no longer verifies: skipped
    assert teacher_of(realm, "flo") == str(champion.resolve())
    with Store.open(realm.store_file) as store:
        store.ledger.clear_champion("flo-now")
    assert teacher_of(realm, "flo") == str(latest.resolve())
    for folder in (champion, latest):
        (folder / "config.json").unlink()
    assert teacher_of(realm, "flo") == str(older.resolve()), "another campaign's checkpoint, as a last resort"
    assert teacher_of(realm, str(latest.parent / "ck-old")) == str(older.resolve()), "a folder still works"


def test_a_hero_without_a_checkpoint_is_one_clear_error_before_anything_is_written(realm: RealmPaths) -> None:
    with pytest.raises(InputError, match="hero 'flo' has no checkpoint to teach from"):
        teacher_of(realm, "flo")
    with Store.open(realm.store_file, readonly=True) as store:
        assert store.campaigns.all() == [], "refused before a campaign was started"
    with pytest.raises(InputError, match="whisper teacher not found"):
        teacher_of(realm, "nobody")  # not a hero id: a missing folder, as before


def test_a_model_folder_named_like_a_hero_keeps_its_meaning(
    realm: RealmPaths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = tmp_path / "cwd"
    (here / "flo").mkdir(parents=True)
    (here / "flo" / "config.json").write_text("{}")
    (here / "flo" / "tokenizer_config.json").write_text("{}")
    monkeypatch.chdir(here)
    assert teacher_of(realm, "flo") == str((here / "flo").resolve())
