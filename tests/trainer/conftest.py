"""Shared fixtures: a tiny Qwen3 hero (hidden 64, 2 layers) and a small learnable chat quest."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from trainer_testkit import TINY_NANO, Events, addition_examples, write_jsonl

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(autouse=True, scope="session")
def _one_thread() -> None:
    """The tiny model gains nothing from threads, and on a shared 2-core machine spinning OpenMP
    threads make tests many times slower when other work runs."""
    import torch

    torch.set_num_threads(1)


@pytest.fixture
def tiny_hero() -> dict[str, Any]:
    return {"id": "tiny", "model": {"builder": "nano", "nano": dict(TINY_NANO)}}


@pytest.fixture
def quest_file(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "quest.jsonl", addition_examples(48))


@pytest.fixture(scope="session")
def shared_realm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One realm per session, so the tiny hero is built once."""
    root = tmp_path_factory.mktemp("realm")
    for d in ("configs", "quests", "saves"):
        (root / d).mkdir()
    return root


@pytest.fixture
def make_job(tmp_path: Path, shared_realm: Path, tiny_hero: dict[str, Any], quest_file: Path) -> Callable[..., Any]:
    from realm_tui.contract.protocol import TrainJob

    base = TrainJob(
        realm_root=str(shared_realm),
        hero_id="tiny",
        hero=tiny_hero,
        quest_paths=(str(quest_file),),
        checkpoints_dir=str(tmp_path / "checkpoints"),
        quest_id="q-test",
        max_steps=6,
        batch_size=4,
        grad_accum=1,
        learning_rate=3e-3,
        warmup_steps=2,
        max_length=128,
        precision="fp32",
        seed=11,
        save_steps=1000,
        save_minutes=0.0,
        val_fraction=0.1,
        min_free_disk_mb=1,
        quest_passes=1000.0,  # these battles train the small quest over and over: it never finishes
    )

    def make(**overrides: Any) -> TrainJob:
        return replace(base, **overrides)

    return make


@pytest.fixture
def battle() -> Callable[..., tuple[Any, Events]]:
    """`battle(job, control=None, fake_faults=None)` → (Stopped, events)."""
    from realm_tui.trainer.loop import run_battle

    def run(job: Any, control: Any = None, fake_faults: Any = None) -> tuple[Any, Events]:
        events = Events()
        stopped = run_battle(job, events, control, fake_faults=fake_faults)
        return stopped, events

    return run
