"""Installed quest modules in a real battle (`realm train --no-ui --json`): the parent composes the
modules listed in curriculum.yaml, the trainer trains on the example module's data, a module whose
requirements the hero does not meet is skipped with a visible reason, and a listed module that is
not installed refuses the battle naming curriculum.yaml."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import torch
import yaml
from battle_kit import child_env, make_tiny_realm, realm_cmd, run_json

from realm_tui.paths import RealmPaths
from realm_tui.quests.modules import install_module
from realm_tui.store import Store

REPO = Path(__file__).resolve().parents[2]
SEQ_DRILLS = REPO / "quests" / "modules" / "seq-drills"


def module_realm(root: Path, modules: list[dict[str, object]]) -> RealmPaths:
    realm = make_tiny_realm(root, save_steps=100)
    hero_file = realm.configs / "heroes" / "tiny.yaml"
    hero = yaml.safe_load(hero_file.read_text(encoding="utf-8"))
    hero["training_defaults"]["max_length"] = 128  # the drills' questions are longer than the kit's sums
    hero_file.write_text(yaml.safe_dump(hero, allow_unicode=True), encoding="utf-8")
    install_module(realm, SEQ_DRILLS)
    veteran = root.parent / "veteran"
    shutil.copytree(SEQ_DRILLS, veteran)
    manifest = yaml.safe_load((veteran / "manifest.yaml").read_text(encoding="utf-8"))
    manifest.update({"id": "veteran", "requirements": {"min_level": 99, "prerequisites": []}})
    (veteran / "manifest.yaml").write_text(yaml.safe_dump(manifest), encoding="utf-8")
    install_module(realm, veteran)
    curriculum_file = realm.configs / "curriculum.yaml"
    curriculum = yaml.safe_load(curriculum_file.read_text(encoding="utf-8"))
    curriculum["modules"] = modules
    curriculum_file.write_text(yaml.safe_dump(curriculum), encoding="utf-8")
    return realm


def test_a_battle_trains_on_the_installed_module(tmp_path: Path) -> None:
    modules = [{"id": "seq-drills", "weight": 2.0, "priority": 1}, {"id": "veteran", "weight": 1.0, "priority": 0}]
    realm = module_realm(tmp_path / "realm", modules)
    code, events = run_json(realm, "--steps", "4", timeout=200)
    assert code == 0, [e for e in events if e["event"] in ("Error", "Stopped")]
    logs = [e["message"] for e in events if e["event"] == "Log"]
    # bin weighs 1 (sy waits for BIN level 2: joins_after), the module 2: two thirds of the non-quest examples.
    used = "module seq-drills: 100 examples (sequences level 1), about 67% of the non-quest examples"
    assert any(m.startswith(used) for m in logs), logs
    assert "module veteran skipped: needs hero level 99; the hero is level 0" in logs
    with Store.open(realm.store_file, readonly=True) as store:
        latest = store.ledger.latest()
    assert latest is not None and latest.step == 4
    state = torch.load(realm.root / latest.path / "trainer_state.pt", weights_only=True)
    (entry,) = [m for m in state["curriculum"]["modules"] if m["id"] == "seq-drills"]
    assert entry["files"] == [str(realm.quests / "modules" / "seq-drills" / "data" / "level1.jsonl")]
    drawn = state["mixer"]["modules"]["seq-drills"]["drawn"]
    # 4 steps of 8 examples: half quest, a quarter module on average.
    assert 1 <= drawn <= 20, drawn
    assert set(state["mixer"]["modules"]) == {"seq-drills"}, "the skipped module is never drawn"


def test_a_listed_module_that_is_not_installed_refuses_the_battle(tmp_path: Path) -> None:
    realm = module_realm(tmp_path / "realm", [{"id": "seq-drills"}, {"id": "ghost", "weight": 1.0}])
    out = subprocess.run(
        realm_cmd(realm, "train", "--no-ui", "--json", "--hero", "tiny", "--steps", "2"),
        capture_output=True,
        text=True,
        timeout=120,
        env=child_env(),
    )
    assert out.returncode == 2, out.stdout + out.stderr
    assert str(realm.configs / "curriculum.yaml") in out.stderr and "'ghost' is not installed" in out.stderr
    with Store.open(realm.store_file, readonly=True) as store:
        assert not store.campaigns.all() and not store.ledger.latest(), "refused before anything was written"
