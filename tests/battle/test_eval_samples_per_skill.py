"""Each skill's own `eval_samples_per_level` travels in the job (not the smallest of all skills)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from battle_kit import make_tiny_realm

from realm_tui.battle.setup import plan_battle
from realm_tui.config.realm_config import load_realm_configs
from realm_tui.contract.job_json import job_from_json, job_to_json
from realm_tui.store import Store


def test_the_job_carries_each_skills_eval_sample_count(tmp_path: Path) -> None:
    realm = make_tiny_realm(tmp_path / "realm")
    sy_file = realm.configs / "skills" / "sy.yaml"
    sy_file.write_text(sy_file.read_text().replace("eval_samples_per_level: 100", "eval_samples_per_level: 16"))
    configs = load_realm_configs(realm.configs)
    with Store.open(realm.store_file) as store:
        plan = plan_battle(realm, configs, store, hero_id="tiny", steps=1)
    assert plan.job.eval_samples_by_skill == {"bin": 100, "sy": 16}, "SY's 16 no longer cuts BIN's evals"
    assert job_from_json(job_to_json(plan.job)) == plan.job


def test_a_job_written_before_the_field_still_loads(tmp_path: Path) -> None:
    realm = make_tiny_realm(tmp_path / "realm")
    configs = load_realm_configs(realm.configs)
    with Store.open(realm.store_file) as store:
        job = plan_battle(realm, configs, store, hero_id="tiny", steps=1).job
    old = dataclasses.asdict(job)
    del old["eval_samples_by_skill"]
    loaded = job_from_json(json.dumps(old))
    assert loaded.eval_samples_by_skill == {} and loaded.eval_samples == job.eval_samples
