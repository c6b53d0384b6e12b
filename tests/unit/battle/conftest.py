"""Fixtures of the progression tests: a real store holding one campaign `c1` of the hero `tiny`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from realm_tui.store import CampaignRecord, Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "realm.json") as s:
        s.campaigns.add(CampaignRecord(id="c1", hero_id="tiny"))
        yield s
