"""The campaign desk without the app: New Game+ refuses before it writes anything, works from
an archived campaign, and keeps the source checkpoint's folder independent of the copy."""

from __future__ import annotations

import shutil

import pytest
from ui_testkit import CAMPAIGN

from realm_tui.contract.manifest import is_valid_checkpoint
from realm_tui.paths import RealmPaths
from realm_tui.services.campaigns import CampaignDesk, CampaignRefusal
from realm_tui.store import Store

C1000, C2400 = "checkpoint-1000-20260101-0300", "checkpoint-2400-20260101-0600"


def test_new_game_plus_refuses_a_broken_checkpoint_and_changes_nothing(realm: RealmPaths) -> None:
    with Store.open(realm.store_file) as store:
        shutil.rmtree(realm.checkpoints / C1000)
        before = (store.campaigns.all(), store.ledger.all())
        desk = CampaignDesk(realm, store)
        with pytest.raises(CampaignRefusal, match="missing or does not verify"):
            desk.new_game_plus(C1000)
        with pytest.raises(CampaignRefusal, match="not in the ledger"):
            desk.new_game_plus("checkpoint-7-nowhere")
        assert (store.campaigns.all(), store.ledger.all()) == before


def test_new_game_plus_from_an_archived_campaign(realm: RealmPaths) -> None:
    with Store.open(realm.store_file) as store:
        desk = CampaignDesk(realm, store)
        desk.archive(CAMPAIGN)
        with pytest.raises(CampaignRefusal, match="archived"):
            desk.archive(CAMPAIGN)
        new = desk.new_game_plus(C2400)
        assert store.campaigns.require(CAMPAIGN).status == "archived"  # archived stays archived
        assert store.campaigns.active() == new and new.skill_levels == {"bin": 3, "sy": 1}
        [seed] = store.ledger.by_campaign(new.id)
        shutil.rmtree(realm.checkpoints / C2400)  # removing the source folder leaves the copy whole
        assert is_valid_checkpoint(realm.root / seed.path)


def test_resume_refuses_what_the_rules_refuse_and_changes_nothing(realm: RealmPaths) -> None:
    with Store.open(realm.store_file) as store:
        desk = CampaignDesk(realm, store)
        new = desk.new_campaign("flo", "Flo")
        assert store.campaigns.active() == new and store.campaigns.require(CAMPAIGN).status == "paused"
        desk.archive(CAMPAIGN)
        before = store.campaigns.all()
        with pytest.raises(CampaignRefusal, match="only a paused or maxed-out campaign can resume"):
            desk.resume(new.id)  # active already
        with pytest.raises(CampaignRefusal, match="is archived"):
            desk.resume(CAMPAIGN)
        with pytest.raises(CampaignRefusal, match="not in the store"):
            desk.resume("nobody-20990101-000000")
        assert store.campaigns.all() == before and desk.resumable() == []
        store.campaigns.update(new.id, status="maxed_out")  # a maxed-out campaign resumes to push on
        assert [c.id for c in desk.resumable()] == [new.id]
        assert desk.resume(new.id).status == "active"
