"""A hero given by a local folder (config.json, safetensors, tokenizer): the same path a hub id
takes once downloaded. It trains, checkpoints, resumes and exports; a broken folder is refused
before the battle, naming the folder and the mismatch."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
import yaml
from battle_kit import TINY_NANO, child_env, make_tiny_realm, realm_cmd

from realm_tui.armory.hero_arch import arch_for_hero
from realm_tui.armory.hero_files import hero_folder_problems
from realm_tui.config.hero import HeroConfig
from realm_tui.paths import RealmPaths
from realm_tui.store.db import open_store


@pytest.fixture(scope="module")
def built_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from realm_tui.trainer.nano import build_nano_hero

    folder = build_nano_hero(TINY_NANO, tmp_path_factory.mktemp("built") / "qwen-local")
    (folder / "nano_spec.json").unlink()  # a plain HF folder, nothing of ours
    return folder


def local_realm(root: Path, folder: Path, hero_id: str = "local") -> RealmPaths:
    realm = make_tiny_realm(root, save_steps=2)
    hero = yaml.safe_load((realm.configs / "heroes" / "tiny.yaml").read_text())
    hero["id"] = hero_id
    hero["model"] = {"hf_name": str(folder), "size_b": 0.0001}
    (realm.configs / "heroes" / f"{hero_id}.yaml").write_text(yaml.safe_dump(hero, allow_unicode=True))
    return realm


def run_local(realm: RealmPaths, *args: str) -> tuple[int, list[dict[str, object]], str]:
    cmd = realm_cmd(realm, "train", "--no-ui", "--json", "--hero", "local", *args)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=child_env())
    events = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    return out.returncode, events, out.stdout + out.stderr


def test_a_local_folder_hero_trains_checkpoints_resumes_and_exports(tmp_path: Path, built_folder: Path) -> None:
    folder = shutil.copytree(built_folder, tmp_path / "my-hero")
    realm = local_realm(tmp_path / "realm", folder)
    code, events, text = run_local(realm, "--steps", "4")
    assert code == 0, text
    saved = [e for e in events if e["event"] == "CheckpointSaved"]
    assert [e["step"] for e in saved][-1] == 4 and saved[0]["step"] == 2
    hello = next(e for e in events if e["event"] == "Hello")
    assert hello["hero_id"] == "local"

    code, events, text = run_local(realm, "--steps", "2")  # resumes the campaign
    assert code == 0, text
    assert any(e["event"] == "Log" and "resumed from checkpoint-4" in str(e["message"]) for e in events)
    assert max(e["step"] for e in events if e["event"] == "Step") > 4

    out = tmp_path / "export"
    done = subprocess.run(
        realm_cmd(realm, "vault", "export", "latest", "-o", str(out)),
        capture_output=True,
        text=True,
        timeout=300,
        env=child_env(),
    )
    assert done.returncode == 0, done.stderr
    assert (out / "config.json").is_file() and (out / "model.safetensors").is_file()
    assert (out / "tokenizer.json").is_file()
    assert hero_folder_problems(out) == []  # the export is itself a valid hero folder


def test_the_calculator_reads_the_folders_config(tmp_path: Path, built_folder: Path) -> None:
    hero = HeroConfig.model_validate(
        {
            **yaml.safe_load(Path("configs/heroes/dio.yaml").read_text()),
            "model": {"hf_name": str(built_folder), "size_b": 0.6},
        }
    )
    arch = arch_for_hero(hero)
    assert not arch.approximate and arch.hidden_size == TINY_NANO["hidden_size"] and arch.vocab_size == 2556
    assert arch.source == f"config.json in {built_folder}"
    guessed = arch_for_hero(
        hero.model_copy(update={"model": hero.model.model_copy(update={"hf_name": str(tmp_path / "gone")})})
    )
    assert guessed.approximate and guessed.source == "guessed from the parameter count"


# ---------------------------------------------------------------- bad folders


def _edit_config(folder: Path, **changes: object) -> None:
    path = folder / "config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


def test_good_folder_has_no_problem(built_folder: Path) -> None:
    assert hero_folder_problems(built_folder) == []


def test_no_config(tmp_path: Path, built_folder: Path) -> None:
    folder = shutil.copytree(built_folder, tmp_path / "h")
    (folder / "config.json").unlink()
    [problem] = hero_folder_problems(folder)
    assert str(folder) in problem and "no config.json" in problem


def test_unknown_model_type(tmp_path: Path, built_folder: Path) -> None:
    folder = shutil.copytree(built_folder, tmp_path / "h")
    _edit_config(folder, model_type="qwen99")
    [problem] = hero_folder_problems(folder)
    assert str(folder) in problem and "'qwen99' is unknown to the installed transformers" in problem


def test_config_that_is_not_json_or_lacks_what_a_model_needs(tmp_path: Path, built_folder: Path) -> None:
    folder = shutil.copytree(built_folder, tmp_path / "h")
    config = folder / "config.json"
    good = json.loads(config.read_text())
    config.write_text("{not json")
    [problem] = hero_folder_problems(folder)
    assert str(config) in problem and "not readable JSON" in problem
    config.write_text(json.dumps({k: v for k, v in good.items() if k != "model_type"}))
    assert hero_folder_problems(folder) == [f"{config}: no model_type"]
    config.write_text(json.dumps({k: v for k, v in good.items() if k != "hidden_size"}))
    [problem] = hero_folder_problems(folder)
    assert str(config) in problem and "no hidden_size" in problem


def test_missing_shards_and_tokenizers(tmp_path: Path, built_folder: Path) -> None:
    folder = shutil.copytree(built_folder, tmp_path / "h")
    index = {"metadata": {}, "weight_map": {"model.embed_tokens.weight": "model-00002-of-00002.safetensors"}}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    assert any(
        "lists shard(s) that are not there: model-00002-of-00002.safetensors" in p for p in hero_folder_problems(folder)
    )
    (folder / "model.safetensors.index.json").unlink()
    (folder / "tokenizer.json").write_text("{broken")
    [problem] = hero_folder_problems(folder)
    assert str(folder / "tokenizer.json") in problem and "unreadable" in problem
    (folder / "tokenizer.json").unlink()
    assert hero_folder_problems(folder) == [f"{folder}: no tokenizer (tokenizer.json)"]


def test_weights_that_do_not_match(tmp_path: Path, built_folder: Path) -> None:
    folder = shutil.copytree(built_folder, tmp_path / "h")
    _edit_config(folder, intermediate_size=256, num_hidden_layers=3)
    problems = hero_folder_problems(folder)
    assert any("mlp.gate_proj.weight has shape [128, 64], the config implies [256, 64]" in p for p in problems)
    assert any("2 decoder layers, config.json says 3" in p for p in problems)
    assert all(str(folder) in p for p in problems)


def test_weights_missing_or_not_safetensors(tmp_path: Path, built_folder: Path) -> None:
    folder = shutil.copytree(built_folder, tmp_path / "h")
    weights = folder / "model.safetensors"
    weights.write_bytes(struct.pack("<Q", 1 << 40) + b"{}")
    assert any("not a safetensors file" in p for p in hero_folder_problems(folder))
    weights.unlink()
    assert any("no *.safetensors weights" in p for p in hero_folder_problems(folder))


def test_tokenizer_larger_than_the_embedding(tmp_path: Path, built_folder: Path) -> None:
    folder = shutil.copytree(built_folder, tmp_path / "h")
    tokenizer = json.loads((folder / "tokenizer.json").read_text())
    tokenizer["added_tokens"].append({**tokenizer["added_tokens"][-1], "id": 2999, "content": "<|extra|>"})
    (folder / "tokenizer.json").write_text(json.dumps(tokenizer))
    [problem] = hero_folder_problems(folder)
    assert str(folder) in problem and "the tokenizer has 3,000 token ids but the embedding has 2,556 rows" in problem


def test_a_broken_folder_is_refused_before_the_battle(tmp_path: Path, built_folder: Path) -> None:
    folder = shutil.copytree(built_folder, tmp_path / "broken")
    _edit_config(folder, hidden_size=96)
    realm = local_realm(tmp_path / "realm", folder)
    code, events, text = run_local(realm, "--steps", "2")
    assert code == 2, text
    assert str(folder) in text and "config implies" in text and "hero local" in text
    assert not any(e["event"] in ("Hello", "Step") for e in events)
    if (realm.saves / "realm.json").exists():
        store = open_store(realm, readonly=True)
        assert not [c for c in store.campaigns.all() if c.hero_id == "local"]  # refused before any write
