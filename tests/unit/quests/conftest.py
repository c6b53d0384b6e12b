"""Fixtures for the quest tests: a real realm folder, a real store, a board that settles at once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from realm_tui.paths import RealmPaths
from realm_tui.quests.board import Board
from realm_tui.quests.policy import QuestPolicy
from realm_tui.store import Store

from ._helpers import Clock, make_realm


@pytest.fixture
def realm(tmp_path: Path) -> RealmPaths:
    return make_realm(tmp_path / "realm")


@pytest.fixture
def store(realm: RealmPaths) -> Iterator[Store]:
    with Store.open(realm.store_file) as opened:
        yield opened


@pytest.fixture
def board(realm: RealmPaths, store: Store) -> Board:
    return Board(realm, store, policy=QuestPolicy(settle_seconds=2.0), clock=Clock())
