"""The conductor measures strain from the level's comfort loss: a real realm, store and keeper, the
trainer's events built by hand (no torch)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from progression_kit import keeper_for

from realm_tui.battle.conductor import Conductor
from realm_tui.config.hero import HeroConfig
from realm_tui.config.realm_config import load_realm_configs
from realm_tui.contract.protocol import EvalResult, Step
from realm_tui.paths import RealmPaths
from realm_tui.services.init_realm import init_realm
from realm_tui.store import CampaignRecord, Store


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[RealmPaths, HeroConfig, Store]]:
    realm, _ = init_realm(tmp_path / "realm")
    hero = load_realm_configs(realm.configs).hero("dio-nano")
    with Store.open(realm.store_file) as store:
        store.campaigns.add(CampaignRecord(id="c1", hero_id=hero.id))
        yield realm, hero, store


def _step(step: int, loss: float) -> Step:
    return Step(step=step, max_steps=1000, loss=loss, lr=1e-3, grad_norm=1.0, tokens_per_s=1.0, eta_s=1.0, tokens=1)


def test_strain_moves_and_level_up_hint_waits_for_accuracy(world: tuple[RealmPaths, HeroConfig, Store]) -> None:
    realm, hero, store = world
    conductor = Conductor(store, realm, hero, "c1", "skills", keeper_for(store))
    strains, zones = [], set()
    for i in range(1, 41):  # a falling loss: 2.0 → 0.05
        conductor.apply(_step(i, max(0.05, 2.0 - 0.05 * i)))
        strains.append(conductor.state.strain.strain)
        zones.add(conductor.state.zone)
    assert strains[0] is not None and strains[0] > 1.5  # no mastery yet: the floor is 0, strain = loss
    assert len(set(strains)) > 10 and len(zones) >= 3  # the plot moves through the zones
    for i in range(41, 61):  # easy and flat, but the hero answers nothing right
        conductor.apply(_step(i, 0.05))
    conductor.apply(EvalResult(60, "bin", 1, 0.0, 20))
    conductor.apply(_step(61, 0.05))
    assert conductor.state.zone == "recovery" and conductor.state.hint == "continue"
    # three good evals: BIN levels up and the loss EMA then becomes the floor of level 2
    for step in (62, 63, 64):
        conductor.apply(_step(step, 0.05))
        conductor.apply(EvalResult(step, "bin", 1, 1.0, 20))
    assert store.campaigns.require("c1").skill_levels == {"bin": 1}
    floor = conductor.state.floor
    assert 0.05 <= floor < 0.2
    assert store.campaigns.require("c1").transitions[-1]["loss"] == pytest.approx(floor)
    conductor.apply(_step(65, floor + 0.2))  # level 2's harder data: strain above the new floor
    assert conductor.state.strain.strain == pytest.approx(0.2)
    # a new battle of the same campaign starts from the same floor
    again = Conductor(store, realm, hero, "c1", "skills", keeper_for(store))
    assert again.state.floor == pytest.approx(floor)
