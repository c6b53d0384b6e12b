"""Gold is one number: what the battle stores, what `realm campaign list/show` prints, what the
TUI's hero sheet and the live battle show are all `rules.rewards.campaign_gold` of the campaign.

A real realm and store; the quest and the level-up are written by their real writers (the
conductor on QuestFinished, the keeper's `record_level_up`); the CLI is the real typer app. The
campaign is a New Game+ one that inherited skill levels: those were paid for by the campaign they
came from (the TUI once counted them again)."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from realm_tui.battle.conductor import Conductor
from realm_tui.battle.setup import make_keeper
from realm_tui.cli.app import app
from realm_tui.config.realm_config import load_realm_configs
from realm_tui.contract.protocol import QuestFinished
from realm_tui.paths import RealmPaths
from realm_tui.rules.rewards import campaign_gold
from realm_tui.services.init_realm import init_realm
from realm_tui.services.records import read_progress
from realm_tui.store import CampaignRecord, Store
from realm_tui.ui.views import build_hero_sheet

HERO = "dio-nano"


def cli(realm: RealmPaths, *args: str) -> str:
    out = CliRunner().invoke(app, ["--home", str(realm.root), *args], env={"COLUMNS": "200", "HF_HUB_OFFLINE": "1"})
    assert out.exit_code == 0, out.output
    return out.output


def test_the_cli_and_the_tui_show_the_gold_the_rules_give(tmp_path: Path) -> None:
    realm, _ = init_realm(tmp_path / "realm")
    configs = load_realm_configs(realm.configs)
    with Store.open(realm.store_file) as store:
        store.campaigns.add(
            CampaignRecord(id="ng", hero_id=HERO, name="ng", skill_levels={"bin": 3, "sy": 2}, new_game_plus_of="c0")
        )
        keeper = make_keeper(configs, store, "ng")
        conductor = Conductor(store, realm, configs.hero(HERO), "ng", "q1", keeper=keeper)
        conductor.apply(QuestFinished("q1", 12, 0.4))
        keeper.record_level_up("bin", 4, accuracy=0.9, step=12, effort=1.0)
        live = conductor.stats().gold
        record = store.campaigns.require("ng")
        sheet = build_hero_sheet(configs, read_progress(store)).stats.gold
    expected = 100 + 50  # one quest, one level gained here (bin 3 → 4); the inherited five pay nothing
    assert campaign_gold(record) == expected
    assert record.gold == expected  # the stored value is the rule's
    assert sheet == live == expected  # the TUI's hero sheet and the running battle
    row = next(line for line in cli(realm, "campaign", "list").splitlines() if line.strip("│ ").startswith("ng"))
    assert re.search(rf"│\s*{expected}\s*│", row), row
    assert f"gold {expected};" in cli(realm, "campaign", "show", "ng")
