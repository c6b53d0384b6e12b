"""Regression and maxed-out verdicts from real eval records, end to end.

Each battle is a real `realm train --no-ui` of a fresh tiny hero (real child process, real
evals, real store). The campaign it fights in has already mastered BIN levels (recorded with the
keeper's own `record_level_up`, as a real level-up would record them, at a mastery accuracy a
previous hero reached). The keeper re-tests those levels after three evals at the training
level; the fresh hero cannot answer them, so the re-test it really ran decides the regression,
and the maintenance that follows decides the maxed-out verdict.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml
from battle_kit import child_env, make_tiny_realm, realm_cmd, run_json

from realm_tui.battle.setup import make_keeper, start_campaign
from realm_tui.config.realm_config import load_realm_configs
from realm_tui.paths import RealmPaths
from realm_tui.store import Store

MASTERY = {1: 0.9375, 2: 0.875}
"""Accuracy at mastery per BIN level (15/16 and 14/16 of a 16-problem eval)."""
REVIEW_SHARE = 0.25
EVAL_EVERY = 10


def cap_realm(root: Path, mastered: int, level_cap: dict[str, Any] | None = None) -> tuple[RealmPaths, str]:
    """A BIN-only realm whose active campaign has mastered BIN levels 1..`mastered`."""
    realm = make_tiny_realm(root, save_steps=1000)
    (realm.quests / "inbox" / "add.jsonl").unlink()  # nothing on the board: a skills-only battle
    hero_file = realm.configs / "heroes" / "tiny.yaml"
    hero = yaml.safe_load(hero_file.read_text())
    hero["training_defaults"].update(
        {"batch_size": 16, "learning_rate": 3e-3, "eval_every_steps": EVAL_EVERY, "seed": 11, "max_length": 128}
    )
    hero["idle"]["forge_count"] = 0
    hero["steps_per_level"] = 1000
    hero_file.write_text(yaml.safe_dump(hero, allow_unicode=True))
    curriculum: dict[str, Any] = {
        "strategy": "focus",
        "focus_skill": "bin",
        "review_share": REVIEW_SHARE,
        "quest_share": 0.0,
        "skills": {"bin": {"weight": 1.0, "enabled": True}, "sy": {"weight": 1.0, "enabled": False}},
    }
    if level_cap is not None:
        curriculum["level_cap"] = level_cap
    (realm.configs / "curriculum.yaml").write_text(yaml.safe_dump(curriculum))
    skill_file = realm.configs / "skills" / "bin.yaml"
    text = skill_file.read_text()
    skill_file.write_text(text.replace("eval_samples_per_level: 100", "eval_samples_per_level: 16"))
    with Store.open(realm.store_file) as store:
        campaign = start_campaign(store, "tiny")
        keeper = make_keeper(load_realm_configs(realm.configs), store, campaign.id)
        for level in range(1, mastered + 1):
            keeper.record_level_up("bin", level, accuracy=MASTERY[level], step=0, effort=0.0)
    return realm, campaign.id


def test_a_real_retest_of_a_mastered_level_records_a_regression(tmp_path: Path) -> None:
    realm, campaign_id = cap_realm(tmp_path / "realm", mastered=1)
    code, events = run_json(realm, "--steps", "40", timeout=180)
    assert code == 0, [e for e in events if e["event"] in ("Error", "Stopped")]
    retests = [e for e in events if e["event"] == "EvalResult" and e["request_id"] == "retest"]
    assert retests and all(e["level"] == 1 for e in retests), "three evals at level 2, then level 1 is re-tested"
    first = retests[0]
    assert first["total"] == 16 and first["accuracy"] < MASTERY[1] - 0.10, "a fresh hero cannot answer level 1"
    # Printed as it happens: the regression line follows the re-test that found it.
    at = events.index(first)
    assert events[at + 1]["event"] == "Notification", events[at : at + 3]
    assert events[at + 1]["text"] == (
        f"BIN level 1 is slipping: Accuracy fell from {MASTERY[1]:.0%} at mastery to {first['accuracy']:.0%}; "
        "review data will be added."
    )
    assert sum("is slipping" in e.get("text", "") for e in events) == 1, "one alarm while under maintenance"

    with Store.open(realm.store_file) as store:
        campaign = store.campaigns.require(campaign_id)
        (milestone,) = [m for m in campaign.milestones if m["kind"] == "regression"]
        (record,) = [e for e in store.evals.for_skill(campaign_id, "bin", 1) if e.step == first["step"]]
        assert milestone["skill"] == "bin" and milestone["level"] == 1 and milestone["step"] == first["step"]
        assert milestone["accuracy"] == record.accuracy == first["accuracy"]
        assert milestone["mastery_accuracy"] == MASTERY[1]
        assert record.total == 16 and len(record.results) == 16
        assert campaign.status == "active", "one regression is not a level cap"
        logged = store.events.recent(10, campaign_id=campaign_id, kind="regression")
        assert len(logged) == 1 and logged[0].data["step"] == first["step"]
        keeper = make_keeper(load_realm_configs(realm.configs), store, campaign_id)
        assert keeper.maintenance_levels() == {"bin": [1]}
        payload = keeper.curriculum_payload()
        assert payload["skills"]["bin"]["maintenance_levels"] == [1]
        assert payload["review_share"] > REVIEW_SHARE
    # The trainer followed the keeper's new curriculum: evals go on at level 2.
    assert [e["level"] for e in events if e["event"] == "EvalResult" and not e["request_id"]][-1] == 2


def test_real_regressions_push_maintenance_past_the_limit_and_max_out_the_campaign(tmp_path: Path) -> None:
    # The shipped limit (1.0) over a window short enough for a 60-step battle.
    level_cap = {"maintenance_limit": 1.0, "window_steps": EVAL_EVERY, "min_window_steps": EVAL_EVERY}
    realm, campaign_id = cap_realm(tmp_path / "realm", mastered=2, level_cap=level_cap)
    env = child_env() | {"COLUMNS": "400", "TERM": "dumb"}
    out = subprocess.run(
        realm_cmd(realm, "train", "--no-ui", "--hero", "tiny", "--steps", "60"),
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    lines = out.stdout.splitlines()

    with Store.open(realm.store_file, readonly=True) as store:
        campaign = store.campaigns.require(campaign_id)
        regressions = [m for m in campaign.milestones if m["kind"] == "regression"]
        (maxed,) = [m for m in campaign.milestones if m["kind"] == "maxed_out"]
        assert campaign.status == "maxed_out"
        # Both mastered levels really regressed, each judged on its stored re-test record.
        assert sorted(m["level"] for m in regressions) == [1, 2]
        for m in regressions:
            (record,) = [e for e in store.evals.for_skill(campaign_id, "bin", m["level"]) if e.step == m["step"]]
            assert m["accuracy"] == record.accuracy < MASTERY[m["level"]] - 0.10
        # Review 0.25 → 0.55 of the data once both levels are under maintenance: over the 10-step window
        # the multiplier passes 1.0 (measured 1.08 at step 40; 0.55 / 0.45 = 1.22 once the window is all new).
        assert maxed["step"] > max(m["step"] for m in regressions)
        assert maxed["multiplier"] > 1.0 and "passed the limit 1.00" in maxed["reason"]
        assert maxed["costly_level_ups"] == 1
        verdict_evals = [e for e in store.evals.for_campaign(campaign_id) if e.step == maxed["step"]]
        assert verdict_evals, "the verdict was reached on a real eval"

    # Headless printed each verdict as it happened, right after the eval that decided it.
    slipping = [i for i, line in enumerate(lines) if "is slipping: Accuracy fell from" in line]
    assert len(slipping) == 2, out.stdout
    for i in slipping:
        level = 2 if "BIN level 2" in lines[i] else 1
        assert f"eval bin L{level}:" in lines[i - 1] and "(re-test)" in lines[i - 1], lines[i - 1 : i + 1]
    (cap_at,) = [i for i, line in enumerate(lines) if "✨ Level cap reached:" in line]
    assert maxed["reason"] in lines[cap_at] and "Archive the campaign or start New Game+." in lines[cap_at]
    assert "🎯 eval bin L" in lines[cap_at - 1], lines[cap_at - 1 : cap_at + 1]
    assert cap_at > max(slipping)
    assert any("battle stopped" in line for line in lines[cap_at:]), "the verdict came during the battle"
