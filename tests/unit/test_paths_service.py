"""`services.paths.follow_path` (the Armory's move) over a real store: a hero without a campaign
starts one on the path; a campaign with no checkpoint may change path; a path the profile refuses
is refused with nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from realm_tui.config.realm_config import load_realm_configs
from realm_tui.services.campaigns import CampaignRefusal
from realm_tui.services.init_realm import init_realm
from realm_tui.services.paths import PathDesk, path_caption
from realm_tui.store import Store


def test_follow_path_starts_changes_and_refuses(tmp_path: Path) -> None:
    realm, _ = init_realm(tmp_path / "realm")
    configs = load_realm_configs(realm.configs)
    with Store.open(realm.store_file) as store:
        desk = PathDesk(realm, store)
        assert desk.followed("dio-nano") is None
        record = desk.follow(configs, "dio-nano", "muon@reasoning")
        assert record.status == "active" and record.training_path == "muon@reasoning"
        assert desk.follow(configs, "dio-nano", "adamw@words").id == record.id  # no checkpoint yet: free to change
        with pytest.raises(CampaignRefusal, match="cpu_tiny refuses technique lora"):
            desk.follow(configs, "dio-nano", "lora@words")
        with pytest.raises(CampaignRefusal, match="unknown path"):
            desk.follow(configs, "dio-nano", "nope@words")
        assert desk.followed("dio-nano") == "adamw@words"
        assert len(store.campaigns.all()) == 1
        assert desk.follow(configs, "dio-nano", None).training_path is None
    assert path_caption(configs, "muon@reasoning") == "🧲 muon@reasoning · The Orthogonal Way"
    assert path_caption(configs, None).startswith("default")
