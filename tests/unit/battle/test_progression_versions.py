"""Generator versions on eval records: old and new evals are never mixed silently.

The keeper stamps each eval with the skill's data version; a level-up averages only evals of the
current version; records stored before versions existed read as version 1; the Guild and
`realm skills` say which levels' history comes from an older generator."""

from __future__ import annotations

from pathlib import Path

from progression_kit import keeper_for
from typer.testing import CliRunner

from realm_tui.cli.app import app
from realm_tui.config.realm_config import load_realm_configs
from realm_tui.contract.protocol import EvalResult
from realm_tui.rules.notifications import NotificationKind
from realm_tui.services.init_realm import init_realm
from realm_tui.services.records import read_progress
from realm_tui.skills.versions import DATA_VERSIONS, FIRST_VERSION
from realm_tui.store import CampaignRecord, EvalRecord, Store
from realm_tui.ui.screens.guild import skill_text
from realm_tui.ui.views import build_guild_view

CURRENT = DATA_VERSIONS["bin"]


def old_eval(campaign: str, step: int, level: int, accuracy: float) -> EvalRecord:
    """An eval as stored before versions were recorded (no data_version key at all)."""
    data = {"campaign_id": campaign, "step": step, "skill": "bin", "level": level, "accuracy": accuracy, "total": 20}
    return EvalRecord.model_validate(data)


def test_versions_were_bumped_and_old_records_read_as_the_first() -> None:
    assert CURRENT > FIRST_VERSION and DATA_VERSIONS["sy"] > FIRST_VERSION
    assert old_eval("c1", 10, 1, 1.0).data_version == FIRST_VERSION


def test_the_keeper_stamps_evals_and_levels_up_on_current_ones_only(store: Store) -> None:
    for step in (10, 20):
        store.evals.upsert(old_eval("c1", step, 1, 1.0))
    keeper = keeper_for(store)
    outcome = keeper.on_eval(EvalResult(30, "bin", 1, 1.0, 20), effort=30.0)
    assert NotificationKind.SKILL_LEVEL_UP not in [n.kind for n in outcome.notifications], "old evals do not count"
    assert [e.data_version for e in store.evals.for_skill("c1", "bin", 1)] == [FIRST_VERSION, FIRST_VERSION, CURRENT]
    outcomes = [keeper.on_eval(EvalResult(step, "bin", 1, 1.0, 20), effort=1.0) for step in (40, 50)]
    kinds = [n.kind for outcome in outcomes for n in outcome.notifications]
    assert NotificationKind.SKILL_LEVEL_UP in kinds
    assert store.campaigns.require("c1").skill_levels == {"bin": 1}


def test_guild_and_realm_skills_name_the_old_levels(tmp_path: Path) -> None:
    realm, _ = init_realm(tmp_path / "realm")
    with Store.open(realm.store_file) as store:
        store.campaigns.add(CampaignRecord(id="c1", hero_id="dio-nano", skill_levels={"bin": 2}))
        store.evals.upsert(old_eval("c1", 10, 1, 0.9))
        store.evals.upsert(old_eval("c1", 20, 3, 0.9))
        store.evals.upsert(old_eval("c1", 30, 3, 0.9))
        store.evals.upsert(
            EvalRecord(campaign_id="c1", step=40, skill="bin", level=3, accuracy=0.9, data_version=CURRENT)
        )
        view = build_guild_view(load_realm_configs(realm.configs), read_progress(store, regressions=True))
    bin_view = next(s for s in view.skills if s.skill == "bin")
    assert "L1, L3" in bin_view.old_version_note and "older BIN generator" in bin_view.old_version_note
    assert bin_view.decision.count == 1, "only the current-version eval counts toward the level-up"
    assert "older BIN generator" in skill_text(bin_view)
    sy_view = next(s for s in view.skills if s.skill == "sy")
    assert sy_view.old_version_note == ""
    out = CliRunner().invoke(app, ["--home", str(realm.root), "skills"], env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    assert "BIN: history of L1, L3 comes from an older BIN generator" in out.output
    assert "v1 (old)" in out.output and f"v{CURRENT}" in out.output
