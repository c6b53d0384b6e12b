"""UI test fixtures: a deterministic fixture realm (built once per session, copied per test) and
an app factory with fakes for the trainer, the oracle and the disk."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

os.environ["TZ"] = "UTC"
time.tzset()
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from ui_testkit import (  # noqa: E402
    DISK,
    FakeBridge,
    build_fixture_realm,
    copy_realm,
    fake_oracle_main,
    fixed_hardware,
)

from realm_tui.paths import RealmPaths  # noqa: E402
from realm_tui.services.armory import ArmoryForm, VramEstimate  # noqa: E402
from realm_tui.ui.app import RealmApp, create_app  # noqa: E402
from realm_tui.ui.game import GameOptions  # noqa: E402


def fixed_vram(_configs: object, form: ArmoryForm) -> VramEstimate:
    """A VRAM estimate that follows the form but not the estimator's formulas (stable snapshots)."""
    activations = form.batch_size * form.max_length / 8192
    parts = (("weights", 0.011), ("gradients", 0.011), ("optimizer state", 0.022), ("activations", activations))
    return VramEstimate(sum(p for _, p in parts), parts, "fixed for tests")


@pytest.fixture(scope="session")
def fixture_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fixture") / "realm"
    build_fixture_realm(root)
    return root


@pytest.fixture
def realm(fixture_source: Path, tmp_path: Path) -> RealmPaths:
    return copy_realm(fixture_source, tmp_path / "realm")


@pytest.fixture
def launched() -> list[RealmPaths]:
    return []


@pytest.fixture
def make_app(realm: RealmPaths, launched: list[RealmPaths]) -> Callable[..., RealmApp]:
    """`make_app(**options)`: the app over the fixture realm, with fakes unless overridden."""

    def make(**overrides: Any) -> RealmApp:
        options = GameOptions(
            battle_steps=1000,
            bridge_factory=FakeBridge,
            oracle_target=fake_oracle_main,
            disk_usage=lambda _path: DISK,
            inbox_poll_s=0,
            realm_label="fixture-realm",
            estimate_vram=fixed_vram,
            launch_headless=lambda r: launched.append(r) or 99999,
            read_hardware=fixed_hardware,
        )
        for key, value in overrides.items():
            setattr(options, key, value)
        return create_app(realm.root, options)

    return make


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
