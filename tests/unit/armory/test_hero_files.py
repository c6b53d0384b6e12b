"""The calculator finds a hero's config.json in the hub cache (a fake download) or says it guessed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from realm_tui.armory.arch import QWEN3_0_6B, ModelArch
from realm_tui.armory.hero_files import arch_from_config, hero_folder, hub_snapshot
from realm_tui.armory.vram import estimate_vram
from realm_tui.trainer.threads import configure_openmp

CONFIG = {
    "model_type": "qwen3",
    "hidden_size": 1024,
    "num_hidden_layers": 28,
    "num_attention_heads": 16,
    "num_key_value_heads": 8,
    "head_dim": 128,
    "intermediate_size": 3072,
    "vocab_size": 151936,
    "tie_word_embeddings": True,
}


def fake_hub_download(cache: Path, repo_id: str, config: dict[str, object]) -> Path:
    """The layout huggingface_hub leaves: models--org--name/{refs/main, snapshots/<rev>/}."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    snap = repo / "snapshots" / "abc123"
    snap.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc123")
    (snap / "config.json").write_text(json.dumps(config))
    return snap


def test_hub_cache_snapshot_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    snap = fake_hub_download(tmp_path, "Someone/Qwen3-Like", {**CONFIG, "vocab_size": 5000})
    assert hub_snapshot("Someone/Qwen3-Like") == snap
    assert hero_folder("Someone/Qwen3-Like") == snap
    assert hero_folder("Someone/Not-Downloaded") is None


def test_config_gives_the_exact_published_shape() -> None:
    arch = arch_from_config(CONFIG, "x")
    assert arch == QWEN3_0_6B.__class__(**{**QWEN3_0_6B.__dict__, "name": "x"})  # the preset's exact shape
    assert not arch.approximate and arch.source == "config"
    with pytest.raises(ValueError, match="no intermediate_size"):
        arch_from_config({k: v for k, v in CONFIG.items() if k != "intermediate_size"}, "x")


def test_the_estimate_says_where_the_shape_came_from() -> None:
    read = estimate_vram(ModelArch(**CONFIG_ARCH, source="config.json in /h"))
    assert "architecture from config.json in /h" in read.notes
    guessed = estimate_vram(ModelArch.from_params(0.6e9))
    assert any("guessed from the parameter count" in n for n in guessed.notes)


CONFIG_ARCH: dict[str, Any] = {
    "name": "x",
    "hidden_size": 1024,
    "num_layers": 28,
    "num_heads": 16,
    "num_kv_heads": 8,
    "head_dim": 128,
    "intermediate_size": 3072,
    "vocab_size": 2556,
}


def test_openmp_threads_sleep_unless_the_user_chose() -> None:
    env: dict[str, str] = {}
    assert configure_openmp(env) == "PASSIVE" and env["OMP_WAIT_POLICY"] == "PASSIVE"
    mine = {"OMP_WAIT_POLICY": "ACTIVE"}
    assert configure_openmp(mine) == "ACTIVE"
