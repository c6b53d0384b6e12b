"""Issue 13, defects 2, 5 and 8: hostile ledger paths, damaged or tampered checkpoints, orphan
checkpoint folders. A realm made by `realm init`, checkpoint folders with real manifests (the
weights are bytes: nothing here loads them), the `realm` CLI as a subprocess where a user would
type it, and `plan_battle` (what `realm train` does before the trainer starts)."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from cli_kit import realm_cli
from realm_tui.battle.conductor import Conductor
from realm_tui.battle.setup import plan_battle
from realm_tui.config.realm_config import load_realm_configs
from realm_tui.confine import confined
from realm_tui.contract.manifest import write_manifest
from realm_tui.contract.protocol import CheckpointSaved, Error
from realm_tui.errors import InputError
from realm_tui.paths import RealmPaths
from realm_tui.services.vault import Vault, VaultRefusal
from realm_tui.store import CampaignRecord, CheckpointRecord, Store

CAMPAIGN = "dio-nano-test"


@pytest.fixture(scope="module")
def initialised(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ckfaults") / "realm"
    out = realm_cli(root, "init", str(root))
    assert out.returncode == 0, out.stderr
    return root


@pytest.fixture
def realm(initialised: Path, tmp_path: Path) -> RealmPaths:
    root = tmp_path / "realm"
    shutil.copytree(initialised, root)
    paths = RealmPaths(root)
    with Store.open(paths.store_file) as store:
        store.campaigns.add(CampaignRecord(id=CAMPAIGN, hero_id="dio-nano"))
    (root / "q.jsonl").write_text(
        json.dumps({"messages": [{"role": "user", "content": "1+1="}, {"role": "assistant", "content": "2"}]}) + "\n"
    )
    return paths


def make_checkpoint(realm: RealmPaths, step: int, *, listed: bool = True, campaign: str = CAMPAIGN) -> Path:
    """A complete checkpoint folder (as the trainer writes it), in the ledger when `listed`."""
    name = f"checkpoint-{step}-20260101-1200"
    folder = realm.checkpoints / name
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(bytes(range(256)) * 4 + step.to_bytes(4, "little"))
    (folder / "config.json").write_text(json.dumps({"model_type": "qwen3"}))
    (folder / "tokenizer.json").write_text("{}")
    (folder / "trainer_state.pt").write_bytes(b"state")
    write_manifest(folder, {"step": step, "name": name, "hero_id": "dio-nano", "campaign_id": campaign})
    if listed:
        with Store.open(realm.store_file) as store:
            store.ledger.add(
                CheckpointRecord(
                    name=name,
                    campaign_id=campaign,
                    hero_id="dio-nano",
                    step=step,
                    path=folder.relative_to(realm.root).as_posix(),
                    created_at=time.time() + step,
                )
            )
    return folder


def plan(realm: RealmPaths):  # type: ignore[no-untyped-def]
    with Store.open(realm.store_file) as store:
        return plan_battle(realm, load_realm_configs(realm.configs), store, quest=realm.root / "q.jsonl", steps=1)


def ledger(realm: RealmPaths) -> dict[str, CheckpointRecord]:
    with Store.open(realm.store_file, readonly=True) as store:
        return {r.name: r for r in store.ledger.all()}


# ------------------------------------------------------------------ defect 2: confinement


def outside_victim(realm: RealmPaths) -> Path:
    victim = realm.root.parent / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me")
    (victim / "model.safetensors").write_bytes(b"x")
    return victim


def hostile_paths(realm: RealmPaths, victim: Path) -> list[str]:
    link = realm.checkpoints / "checkpoint-7-link"
    realm.checkpoints.mkdir(parents=True, exist_ok=True)
    link.symlink_to(victim, target_is_directory=True)
    return ["../victim", "saves/checkpoints/../../../victim", "saves/checkpoints/checkpoint-7-link", "configs"]


def test_confined_refuses_every_way_out(tmp_path: Path) -> None:
    base = tmp_path / "base"
    (base / "inside").mkdir(parents=True)
    (tmp_path / "out").mkdir()
    (base / "link").symlink_to(tmp_path / "out")
    assert confined(base, "inside") == base / "inside"
    for bad in ["../out", "inside/../../out", "/etc", "C:/x", "", ".", "link", "link/x"]:
        with pytest.raises(InputError, match="refused"):
            confined(base, bad, source=tmp_path / "ledger.json")


def test_retention_never_deletes_outside_the_checkpoints_folder(realm: RealmPaths) -> None:
    victim = outside_victim(realm)
    bad = hostile_paths(realm, victim)
    with Store.open(realm.store_file) as store:
        for i, path in enumerate(bad):
            store.ledger.add(
                CheckpointRecord(name=f"bad-{i}", campaign_id=CAMPAIGN, hero_id="dio-nano", step=i, path=path)
            )
    good = make_checkpoint(realm, 100, listed=False)
    configs = load_realm_configs(realm.configs)
    hero = configs.hero("dio-nano")
    hero = hero.model_copy(
        update={"retention": hero.retention.model_copy(update={"keep_last": 1, "keep_daily": False})}
    )
    with Store.open(realm.store_file) as store:
        conductor = Conductor(store, realm, hero, CAMPAIGN, "q")
        conductor.apply(
            CheckpointSaved(
                step=100, path=str(good), name=good.name, train_loss=1.0, val_loss=None, lr=0.1, size_bytes=1
            )
        )
        assert [r.name for r in store.ledger.by_campaign(CAMPAIGN)] == [good.name]  # retention ran
    assert (victim / "precious.txt").read_text() == "keep me"
    assert (realm.configs / "heroes" / "dio-nano.yaml").is_file()
    assert good.is_dir()


@pytest.mark.parametrize("index", range(4))
def test_vault_never_exports_or_deletes_through_a_hostile_path(realm: RealmPaths, index: int) -> None:
    victim = outside_victim(realm)
    path = hostile_paths(realm, victim)[index]
    with Store.open(realm.store_file) as store:
        store.ledger.add(CheckpointRecord(name="evil", campaign_id=CAMPAIGN, hero_id="dio-nano", step=5, path=path))
    make_checkpoint(realm, 9)  # the latest: "evil" may be deleted
    out = realm_cli(realm.root, "vault", "export", "evil", "-o", str(realm.root / "out"))
    assert out.returncode != 0 and "refused" in out.stderr and "Traceback" not in out.stderr, out.stderr
    assert not (realm.root / "out").exists()
    with Store.open(realm.store_file) as store:
        Vault(realm, store).delete("evil")
    assert (victim / "precious.txt").read_text() == "keep me" and (realm.configs / "heroes").is_dir()


# ------------------------------------------------------------------ defect 5: verified before use


def flip_a_byte(folder: Path) -> None:
    weights = folder / "model.safetensors"
    raw = bytearray(weights.read_bytes())
    raw[100] ^= 0xFF
    weights.write_bytes(bytes(raw))


def plant_pickle(folder: Path) -> None:
    (folder / "pytorch_model.bin").write_bytes(b"\x80\x04 a pickle")


def plant_args(folder: Path) -> None:
    (folder / "training_args.bin").write_bytes(b"\x80\x04 a pickle")


def plant_index(folder: Path) -> None:
    (folder / "model.safetensors.index.json").write_text(
        json.dumps({"weight_map": {"w": "../../../victim.safetensors"}})
    )


DAMAGES = {
    "flipped byte": (flip_a_byte, "does not match its checksum"),
    "weights deleted": (lambda f: (f / "model.safetensors").unlink(), "model.safetensors is missing"),
    "manifest deleted": (lambda f: (f / "manifest.json").unlink(), "manifest.json is missing"),
    "planted pytorch_model.bin": (plant_pickle, "pytorch_model.bin is not in manifest.json"),
    "planted training_args.bin": (plant_args, "training_args.bin is not in manifest.json"),
    "planted index": (plant_index, "model.safetensors.index.json is not in manifest.json"),
}


@pytest.mark.parametrize("kind", list(DAMAGES))
def test_a_damaged_checkpoint_is_refused_marked_and_shown(realm: RealmPaths, kind: str) -> None:
    damage, message = DAMAGES[kind]
    folder = make_checkpoint(realm, 4)
    damage(folder)
    out = realm_cli(realm.root, "vault", "export", folder.name, "-o", str(realm.root / "out"))
    assert out.returncode != 0 and message in out.stderr and "Traceback" not in out.stderr, out.stderr
    assert not (realm.root / "out").exists()
    assert message in (ledger(realm)[folder.name].damaged or "")
    listing = realm_cli(realm.root, "vault", "list")
    assert "DAMAGED" in listing.stdout and folder.name in listing.stdout


def test_a_good_export_copies_only_what_the_manifest_lists(realm: RealmPaths) -> None:
    folder = make_checkpoint(realm, 4)
    (folder / "notes.txt").write_text("not listed: never exported")
    out = realm_cli(realm.root, "vault", "export", folder.name, "-o", str(realm.root / "out"))
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in (realm.root / "out").iterdir()) == [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
    ]


@pytest.mark.parametrize("kind", ["flipped byte", "manifest deleted", "planted pytorch_model.bin"])
def test_a_battle_falls_back_to_the_newest_good_checkpoint_and_says_so(realm: RealmPaths, kind: str) -> None:
    older = make_checkpoint(realm, 2)
    newest = make_checkpoint(realm, 4)
    DAMAGES[kind][0](newest)
    first = plan(realm)
    assert first.resumed_from is not None and first.resumed_from.name == older.name
    assert first.job.resume_from == str(older)
    assert any(newest.name in n and "damaged" in n for n in first.notes)
    assert any("falling back" in n and older.name in n for n in first.notes)
    assert ledger(realm)[newest.name].damaged
    # marked once: the next battle does not try it again, and still resumes from the good one
    assert plan(realm).resumed_from.name == older.name  # type: ignore[union-attr]


def test_a_trainer_state_refused_by_weights_only_is_not_retried(realm: RealmPaths) -> None:
    older = make_checkpoint(realm, 2)
    newest = make_checkpoint(realm, 4)  # verifies: only torch.load(weights_only) refuses its state
    first = plan(realm)
    assert first.resumed_from.name == newest.name  # type: ignore[union-attr]
    refusal = f"{newest}: checkpoint trainer state cannot be read (Weights only load failed …)"
    with Store.open(realm.store_file) as store:
        conductor = Conductor(store, realm, first.hero, first.campaign.id, first.quest_id)
        conductor.apply(Error(refusal, fatal=True, kind="bad_input"))
    assert "trainer state cannot be read" in (ledger(realm)[newest.name].damaged or "")
    again = plan(realm)
    assert again.resumed_from.name == older.name  # type: ignore[union-attr]
    assert any("falling back" in n for n in again.notes)


# ------------------------------------------------------------------ defect 8: orphans


def test_orphans_are_adopted_when_newer_and_complete_else_removed(realm: RealmPaths) -> None:
    listed = make_checkpoint(realm, 4)
    older_orphan = make_checkpoint(realm, 3, listed=False)
    newer_orphan = make_checkpoint(realm, 8, listed=False)  # killed between rename and commit
    broken = make_checkpoint(realm, 9, listed=False)
    flip_a_byte(broken)
    temp = realm.checkpoints / ".tmp-checkpoint-10-20260101-1200-999"
    temp.mkdir()
    (temp / "model.safetensors").write_bytes(b"half")
    mine = realm.checkpoints / "my-notes"
    mine.mkdir()

    result = plan(realm)
    assert result.resumed_from is not None and result.resumed_from.name == newer_orphan.name
    records = ledger(realm)
    assert set(records) == {listed.name, newer_orphan.name}
    assert records[newer_orphan.name].step == 8 and records[newer_orphan.name].campaign_id == CAMPAIGN
    assert not older_orphan.exists() and not broken.exists() and not temp.exists()
    assert mine.is_dir() and listed.is_dir() and newer_orphan.is_dir()
    text = "\n".join(result.notes)
    assert f"adopted {newer_orphan.name}" in text
    for gone in (older_orphan, broken, temp):
        assert f"removed the unlisted checkpoint folder {gone.name}" in text


def test_a_damaged_checkpoint_cannot_be_champion(realm: RealmPaths) -> None:
    folder = make_checkpoint(realm, 4)
    flip_a_byte(folder)
    with Store.open(realm.store_file) as store:
        store.ledger.update(folder.name, blessing="blessed")
        vault = Vault(realm, store)
        with pytest.raises(VaultRefusal, match="does not match"):
            vault.export(folder.name, realm.root / "out")
        assert store.ledger.require(folder.name).damaged  # a writable vault marks it itself
        with pytest.raises(VaultRefusal, match="damaged"):
            vault.promote(folder.name)
        assert [r.damaged is not None for r in vault.rows(CAMPAIGN)] == [True]


def test_a_damaged_checkpoint_is_not_the_latest(realm: RealmPaths) -> None:
    older = make_checkpoint(realm, 2)
    newest = make_checkpoint(realm, 4)
    flip_a_byte(newest)
    plan(realm)  # finds it, marks it
    with Store.open(realm.store_file) as store:
        assert store.ledger.latest(CAMPAIGN).name == older.name  # type: ignore[union-attr]
        Vault(realm, store).delete(newest.name)  # no longer protected as "the latest"
    assert not newest.exists() and older.is_dir()
