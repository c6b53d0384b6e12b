"""`realm skills` says what a skill needs to level up (issue 16): at 16 % against an 80 % threshold
it needs accuracy ≥ 80 % on 3 evals, never "1 more eval". The real CLI in a subprocess."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_kit import realm_cli
from realm_tui.services.init_realm import init_realm
from realm_tui.skills.versions import data_version
from realm_tui.store import CampaignRecord, EvalRecord, Store


def _realm(tmp_path: Path, accuracies: list[float]) -> Path:
    paths, _ = init_realm(tmp_path / "realm")
    with Store.open(paths.store_file) as store:
        store.campaigns.add(CampaignRecord(id="c1", hero_id="dio-nano", status="active", skill_levels={"bin": 0}))
        for i, accuracy in enumerate(accuracies):
            step, version = 50 * (i + 1), data_version("bin")
            store.evals.add(
                EvalRecord(campaign_id="c1", step=step, skill="bin", level=1, accuracy=accuracy, data_version=version)
            )
    return paths.root


@pytest.fixture(autouse=True)
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # the table's Status column whole, on one line


def _bin_row(home: Path) -> str:
    out = realm_cli(home, "skills")
    assert out.returncode == 0, out.stderr
    return next(line for line in out.stdout.splitlines() if "(BIN)" in line)


def test_below_the_threshold_it_names_the_accuracy_needed(tmp_path: Path) -> None:
    row = _bin_row(_realm(tmp_path, [0.12, 0.16]))
    assert "more eval" not in row, row
    assert "needs accuracy ≥ 80% on 3 evals" in row and "mean 14%" in row, row


def test_at_the_threshold_it_counts_the_evals_missing(tmp_path: Path) -> None:
    row = _bin_row(_realm(tmp_path, [0.9, 0.85]))
    assert "needs 1 more eval(s) at ≥ 80%" in row, row
