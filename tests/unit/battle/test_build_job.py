"""`battle.setup.build_job` carries every `TrainingDefaults` setting to the `TrainJob`, and the two
have one set of defaults (`TrainJob`'s own, which `TrainingDefaults` reads)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from realm_tui.battle.setup import build_job
from realm_tui.config.hero import HeroConfig, TrainingDefaults
from realm_tui.contract.protocol import TrainJob
from realm_tui.paths import RealmPaths
from realm_tui.store import CampaignRecord

JOB_NAME = {"gradient_accumulation": "grad_accum"}
"""The settings whose `TrainJob` field has another name."""

CHANGED: dict[str, Any] = {
    "batch_size": 3,
    "gradient_accumulation": 5,
    "learning_rate": 7e-5,
    "warmup_steps": 4,
    "lr_schedule": "cosine",
    "weight_decay": 0.01,
    "max_grad_norm": 0.5,
    "max_length": 96,
    "save_steps": 17,
    "save_minutes": 3.5,
    "optimizer": "muon",
    "packing": False,
    "precision": "fp32",
    "seed": 99,
    "val_fraction": 0.2,
    "eval_every_steps": 13,
    "micro_batch_tokens": 777,
    "step_progress_after_s": 2.5,
}
"""A value other than the default for every setting (a new setting must be added here)."""


def _job(curriculum: dict[str, Any]) -> TrainJob:
    hero = HeroConfig.model_validate(
        {
            "id": "tester",
            "name": "Tester",
            "model": {"builder": "nano", "size_b": 0.003},
            "memory_profile": "cpu_tiny",
            "training_defaults": CHANGED,
        }
    )
    return build_job(
        RealmPaths(Path("/realm")),
        hero,
        CampaignRecord(id="c1", hero_id="tester"),
        None,
        "skills",
        start_step=0,
        steps=10,
        resume_from=None,
        curriculum=curriculum,
        eval_samples=8,
        memory_profile={},
    )


def test_every_training_setting_reaches_the_job() -> None:
    assert set(CHANGED) == set(TrainingDefaults.model_fields), "give the new setting a changed value in CHANGED"
    defaults = TrainingDefaults()
    job = _job({"skills": {"bin": {"level": 1}}})
    for name, value in CHANGED.items():
        assert value != getattr(defaults, name), f"{name}: pick a value other than the default"
        assert getattr(job, JOB_NAME.get(name, name)) == value, f"training_defaults.{name} did not reach the TrainJob"
    assert _job({}).eval_every_steps == 0  # no skill trained: no evals


def test_the_config_and_the_job_have_one_set_of_defaults() -> None:
    job_defaults = {f.name: f.default for f in dataclasses.fields(TrainJob)}
    settings = TrainingDefaults().job_kwargs()
    assert set(settings) <= set(job_defaults)
    assert settings == {name: job_defaults[name] for name in settings}
    assert TrainingDefaults().learning_rate == 1e-4  # the job once said 1e-3, the config 1e-4
