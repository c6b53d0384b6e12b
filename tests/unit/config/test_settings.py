"""`configs/settings.yaml`: optional, every field defaulted, checked by `realm validate`."""

from __future__ import annotations

from pathlib import Path

import pytest

from realm_tui.config.extra_files import check_extra_files
from realm_tui.config.settings import Settings, load_settings
from realm_tui.errors import ConfigError
from realm_tui.paths import RealmPaths


def test_absent_file_gives_the_defaults(tmp_path: Path) -> None:
    (tmp_path / "configs").mkdir()
    assert load_settings(RealmPaths(tmp_path)) == Settings(bell=True, moments=True, moment_seconds=3.0)


def test_a_file_changes_what_it_lists(tmp_path: Path) -> None:
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "settings.yaml").write_text("bell: false\n")
    assert load_settings(RealmPaths(tmp_path)) == Settings(bell=False)


def test_bad_settings_name_file_and_field(tmp_path: Path) -> None:
    configs = tmp_path / "configs"
    configs.mkdir()
    bad = configs / "settings.yaml"
    bad.write_text("bell: 'no'\nmoment_secs: 2\n")
    with pytest.raises(ConfigError) as err:
        load_settings(RealmPaths(tmp_path))
    assert str(bad) in str(err.value) and "moment_secs: unknown key (did you mean 'moment_seconds'?)" in str(err.value)
    problems = [str(p) for p in check_extra_files(configs)]
    assert len(problems) == 1 and str(bad) in problems[0]  # realm validate reports it, and nothing else
