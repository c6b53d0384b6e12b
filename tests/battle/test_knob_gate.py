"""Knobs that cannot work are refused before the battle: exit 2, one line, nothing written."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from battle_kit import child_env, make_tiny_realm, realm_cmd

from realm_tui.paths import RealmPaths
from realm_tui.store import Store

NO_CUDA = pytest.mark.skipif(
    Path("/proc/driver/nvidia/version").exists(),
    reason="with a CUDA GPU these knobs can work (QLoRA, flash attention): refused only on a machine without one",
)

PROFILE_BASE: dict[str, Any] = {
    "description": "test profile",
    "gradient_checkpointing": False,
    "attention": "sdpa",
    "optimizer": "adamw",
    "max_batch_size": 16,
    "max_grad_accum": 16,
    "max_seq_length": 512,
    "recommended_model_sizes_b": {"min": 0.0, "max": 0.1},
    "vram_gb": 0,
}
LORA_BLOCK = {"r": 4, "alpha": 8.0, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"]}


def realm_with(tmp_path: Path, profile: dict[str, Any] | None = None, **defaults: Any) -> RealmPaths:
    realm = make_tiny_realm(tmp_path / "realm")
    hero_file = realm.configs / "heroes" / "tiny.yaml"
    hero = yaml.safe_load(hero_file.read_text())
    if profile is not None:
        (realm.configs / "memory_profiles" / f"{profile['id']}.yaml").write_text(yaml.safe_dump(profile))
        hero["memory_profile"] = profile["id"]
    hero["training_defaults"].update(defaults)
    hero_file.write_text(yaml.safe_dump(hero, allow_unicode=True))
    return realm


def refused(realm: RealmPaths) -> str:
    out = subprocess.run(
        realm_cmd(realm, "train", "--no-ui", "--hero", "tiny", "--steps", "2"),
        capture_output=True,
        text=True,
        timeout=120,
        env=child_env(),
    )
    assert out.returncode == 2, (out.stdout, out.stderr)
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    # Nothing written: no campaign, no hero record, no checkpoint, the quest still in the inbox.
    if realm.store_file.exists():
        with Store.open(realm.store_file, readonly=True) as store:
            assert store.campaigns.all() == [] and "tiny" not in store.heroes
    assert not realm.checkpoints.exists() or not any(realm.checkpoints.iterdir())
    assert (realm.quests / "inbox" / "add.jsonl").is_file()
    return lines[0]


@NO_CUDA
def test_qlora_without_bitsandbytes_cuda(tmp_path: Path) -> None:
    # A GPU profile's 4-bit base on a machine without CUDA (a CPU profile takes bitsandbytes' CPU
    # path instead: tests/unit/armory/test_knobs.py::test_cpu_qlora_takes_the_bitsandbytes_cpu_path).
    profile = {
        **PROFILE_BASE,
        "id": "tiny_qlora",
        "method": "qlora",
        "lora": LORA_BLOCK,
        "quantization": {"mode": "4bit"},
        "vram_gb": 8,
    }
    line = refused(realm_with(tmp_path, profile))
    assert "hero tiny: memory profile tiny_qlora stores QLoRA" in line
    assert "needs bitsandbytes with CUDA" in line and "use a profile without quantization" in line


def test_galore_with_lora(tmp_path: Path) -> None:
    profile = {**PROFILE_BASE, "id": "tiny_lora", "method": "lora", "lora": LORA_BLOCK}
    line = refused(realm_with(tmp_path, profile, optimizer="galore_adamw"))
    assert "tiny.yaml" in line and "galore_adamw needs method galore, not lora" in line


@NO_CUDA
def test_flash_attention_on_a_cpu(tmp_path: Path) -> None:
    profile = {**PROFILE_BASE, "id": "tiny_flash", "method": "full", "attention": "flash_attention_2", "vram_gb": 8}
    line = refused(realm_with(tmp_path, profile))
    assert "flash_attention_2, which runs on CUDA GPUs only" in line and "attention sdpa" in line


def test_batch_above_the_profile_limit(tmp_path: Path) -> None:
    line = refused(realm_with(tmp_path, batch_size=256))
    assert "training_defaults.batch_size: 256 is more than memory profile cpu_tiny allows (max_batch_size 128)" in line


def test_unknown_school_and_missing_teacher(tmp_path: Path) -> None:
    realm = make_tiny_realm(tmp_path / "realm")
    for args, words in (
        (["--school", "champion"], "unknown school 'champion'"),
        (["--school", "whisper"], "whisper: school_options.teacher"),
        (["--school", "whisper", "--teacher", str(tmp_path / "nobody")], "whisper teacher not found"),
        (["--school", "judge"], "the judge school trains on a preference quest"),
        (["--oracle", "tarot"], "oracle_loss.signal 'tarot'"),
    ):
        out = subprocess.run(
            realm_cmd(realm, "train", "--no-ui", "--hero", "tiny", "--steps", "1", *args),
            capture_output=True,
            text=True,
            timeout=60,
            env=child_env(),
        )
        assert out.returncode == 2 and words in out.stderr and "Traceback" not in out.stderr, out.stderr
    assert not realm.checkpoints.exists() or not any(realm.checkpoints.iterdir())
