"""Bad input mid-battle: a skill whose generator cannot make its level (a realm skill config it
cannot satisfy) is left out with one clear warning; the battle goes on with the other skills."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from realm_tui.contract.protocol import CheckpointSaved, Error, EvalResult, Log, Step

REPO_CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def _slot(level: int) -> dict:
    return {"level": level, "mastered": level - 1, "weight": 1.0, "review_levels": [], "maintenance_levels": []}


def test_a_failing_generator_is_left_out_and_the_battle_goes_on(make_job, battle, tmp_path: Path) -> None:
    realm = tmp_path / "realm"
    (realm / "configs").mkdir(parents=True)
    shutil.copytree(REPO_CONFIGS / "skills", realm / "configs" / "skills")
    sy_file = realm / "configs" / "skills" / "sy.yaml"
    sy = yaml.safe_load(sy_file.read_text(encoding="utf-8"))
    sy["levels"][0]["zipf_min"] = 7.9  # no English word is that common: level 1 cannot be generated
    sy_file.write_text(yaml.safe_dump(sy, allow_unicode=True), encoding="utf-8")
    curriculum = {
        "strategy": "weighted",
        "focus_skill": None,
        "quest_share": 0.0,
        "review_share": 0.0,
        "skills": {"bin": _slot(1), "sy": _slot(1)},
    }
    job = make_job(
        realm_root=str(realm), quest_paths=(), quest_id="skills", curriculum=curriculum, max_steps=4, eval_every_steps=2
    )
    stopped, events = battle(job)
    assert stopped.reason == "finished" and stopped.step == 4, [e.message for e in events.of(Error)]
    assert [s.step for s in events.of(Step)] == [1, 2, 3, 4]
    failed = [e.message for e in events.of(Log) if "its generator failed" in e.message]
    assert len(failed) == 1, failed  # said once, not every step
    assert failed[0].startswith("sy level 1: its generator failed (ValueError: sy level 1: only 0 words fit")
    assert "configs/skills/sy.yaml" in failed[0]
    assert events.of(CheckpointSaved)[-1].val_loss is not None  # measured on BIN's held-out problems
    # its evals fail with a clear line each time; BIN's go on
    errors = [e.message for e in events.of(Error)]
    assert errors and all(m.startswith("eval sy L1 at step ") and "the battle goes on" in m for m in errors)
    assert [(e.skill, e.step) for e in events.of(EvalResult)] == [("bin", 2), ("bin", 4)]
