"""Fixtures for the store tests: real files under tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "saves" / "realm.json"
