"""Campaigns that are not active stay in view: a maxed-out one is shown by `realm skills` and
`realm campaign show` and blocks a silent fresh battle; `realm campaign resume` brings a paused one back.

A real realm folder and store with campaign records; the real `realm` app through typer's CliRunner."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from realm_tui.battle.setup import choose_campaign
from realm_tui.cli.app import app
from realm_tui.errors import InputError
from realm_tui.paths import RealmPaths
from realm_tui.services.init_realm import init_realm
from realm_tui.store import CampaignRecord, Store

HERO = "dio-nano"


@pytest.fixture
def realm(tmp_path: Path) -> Iterator[RealmPaths]:
    paths, _ = init_realm(tmp_path / "realm")
    with Store.open(paths.store_file) as store:
        store.campaigns.add(
            CampaignRecord(id="old", hero_id=HERO, status="paused", skill_levels={"bin": 1}, updated_at=1000.0)
        )
        store.campaigns.add(
            CampaignRecord(
                id="maxed",
                hero_id=HERO,
                status="maxed_out",
                skill_levels={"bin": 3},
                milestones=[{"kind": "maxed_out", "reason": "every level costs one", "step": 2400}],
                updated_at=2000.0,
            )
        )
    yield paths


def realm_cli(realm: RealmPaths, *args: str) -> Any:
    env = {"COLUMNS": "200", "HF_HUB_OFFLINE": "1"}
    return CliRunner().invoke(app, ["--home", str(realm.root), *args], env=env)


def statuses(realm: RealmPaths) -> dict[str, str]:
    with Store.open(realm.store_file, readonly=True) as store:
        return {c.id: c.status for c in store.campaigns.all()}


def test_a_maxed_out_campaign_stays_in_view(realm: RealmPaths) -> None:
    out = realm_cli(realm, "skills")
    assert out.exit_code == 0, out.output
    assert "No campaign yet" not in out.output
    assert "Campaign maxed" in out.output and "maxed_out" in out.output
    out = realm_cli(realm, "campaign", "show")
    assert out.exit_code == 0, out.output
    assert "Maxed out: every level costs one" in out.output
    assert "realm campaign archive maxed" in out.output and "New Game+" in out.output


def test_a_battle_on_a_maxed_out_latest_campaign_is_refused(realm: RealmPaths) -> None:
    with Store.open(realm.store_file) as store:
        with pytest.raises(InputError) as err:
            choose_campaign(store, None, fresh=False)
        message = str(err.value)
        assert "maxed" in message and "realm campaign archive maxed" in message
        assert "realm campaign new" in message and "New Game+" in message
        with pytest.raises(InputError):
            choose_campaign(store, HERO, fresh=False)
        assert choose_campaign(store, HERO, fresh=True) == (HERO, None)  # --fresh starts anew
        assert choose_campaign(store, "someone-else", fresh=False) == ("someone-else", None)
    assert statuses(realm) == {"old": "paused", "maxed": "maxed_out"}  # nothing written


def test_resume_continues_a_paused_campaign_and_pauses_the_active_one(realm: RealmPaths) -> None:
    with Store.open(realm.store_file) as store:
        store.campaigns.add(CampaignRecord(id="new", hero_id=HERO, status="active", updated_at=3000.0))
        store.campaigns.add(CampaignRecord(id="rival", hero_id="other-hero", status="active", updated_at=3000.0))
    out = realm_cli(realm, "campaign", "resume", "ol")  # a unique prefix is enough
    assert out.exit_code == 0, out.output
    assert "paused new" in out.output and "paused rival" in out.output and "resumed old" in out.output
    # one campaign is active at a time (as `realm campaign new` and the TUI's Campaign desk keep it)
    assert statuses(realm) == {"old": "active", "maxed": "maxed_out", "new": "paused", "rival": "paused"}
    with Store.open(realm.store_file) as store:
        assert store.campaigns.require("old").milestones[-1]["kind"] == "resumed"
        assert store.campaigns.require("new").milestones[-1]["kind"] == "paused"
        assert choose_campaign(store, HERO, fresh=False)[1].id == "old"  # type: ignore[union-attr]
    out = realm_cli(realm, "skills")
    assert out.exit_code == 0 and "Campaign old" in out.output


def test_resume_refuses_an_active_or_archived_campaign_and_writes_nothing(realm: RealmPaths) -> None:
    with Store.open(realm.store_file) as store:
        store.campaigns.add(CampaignRecord(id="new", hero_id=HERO, status="active", updated_at=3000.0))
        store.campaigns.add(CampaignRecord(id="gone", hero_id=HERO, status="archived", updated_at=500.0))
    before = statuses(realm)
    out = realm_cli(realm, "campaign", "resume", "new")
    assert out.exit_code != 0 and "only a paused or maxed-out campaign can resume" in out.output
    out = realm_cli(realm, "campaign", "resume", "gone")
    assert out.exit_code != 0 and "archived" in out.output
    out = realm_cli(realm, "campaign", "resume", "nope")
    assert out.exit_code != 0 and "no single campaign matches" in out.output
    assert statuses(realm) == before
