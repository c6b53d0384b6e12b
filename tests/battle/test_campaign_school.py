"""A campaign follows a school (the Armory's pick, `services.schools`): its next battle's job trains
in it without `--school`; `--school` still wins for one battle; a fresh campaign starts in the
Scribe; the Judge and the Whisper are refused for a campaign with the way to start them."""

from __future__ import annotations

from pathlib import Path

import pytest
from battle_kit import make_tiny_realm

from realm_tui.battle.setup import plan_battle
from realm_tui.config.realm_config import load_realm_configs
from realm_tui.services.campaigns import CampaignRefusal
from realm_tui.services.schools import SchoolDesk, school_rows
from realm_tui.store import Store


def test_the_next_battle_trains_in_the_campaigns_school(tmp_path: Path) -> None:
    realm = make_tiny_realm(tmp_path / "realm")
    configs = load_realm_configs(realm.configs)
    with Store.open(realm.store_file) as store:
        desk = SchoolDesk(realm, store)
        assert desk.followed("tiny") == "scribe"
        assert plan_battle(realm, configs, store, hero_id="tiny", steps=1).job.school == "scribe"

        record = desk.follow(configs, "tiny", "arena")
        assert record.school == "arena" and desk.followed("tiny") == "arena"
        plan = plan_battle(realm, configs, store, hero_id="tiny", steps=1)
        assert plan.job.school == "arena"
        hero_lr = configs.hero("tiny").training_defaults.learning_rate
        assert plan.job.learning_rate == pytest.approx(hero_lr * 0.1), "the Arena's lr_scale"
        assert any("school arena: the campaign follows it" in note for note in plan.notes)

        assert plan_battle(realm, configs, store, hero_id="tiny", steps=1, school="scribe").job.school == "scribe"
        assert desk.followed("tiny") == "arena", "--school is for one battle; the campaign keeps its pick"
        fresh = plan_battle(realm, configs, store, hero_id="tiny", steps=1, resume=False)
        assert fresh.job.school == "scribe"

        desk.follow(configs, fresh.campaign.hero_id, "scribe")
        assert store.campaigns.get(fresh.campaign.id).school is None


@pytest.mark.parametrize(("school", "says"), [("judge", "--quest FILE.jsonl"), ("whisper", "--teacher")])
def test_judge_and_whisper_are_refused_for_a_campaign(tmp_path: Path, school: str, says: str) -> None:
    realm = make_tiny_realm(tmp_path / "realm")
    configs = load_realm_configs(realm.configs)
    rows = {row.id: row for row in school_rows(configs)}
    assert list(rows) == ["scribe", "judge", "whisper", "arena"]
    assert rows["arena"].refused is None and rows["arena"].label == "Arena"
    with Store.open(realm.store_file) as store:
        desk = SchoolDesk(realm, store)
        with pytest.raises(CampaignRefusal, match=says):
            desk.follow(configs, "tiny", school)
        assert desk.followed("tiny") == "scribe"
        assert all(c.school is None for c in store.campaigns.all())
