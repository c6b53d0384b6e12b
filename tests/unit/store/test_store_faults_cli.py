"""Issue 13, defects 1 and 9, from the outside: a damaged `saves/realm.json` under the real `realm`
CLI (subprocesses on a realm made by `realm init`). Every damage is refused with one line naming
the file, no command treats it as a new store, no backup is touched, and `realm doctor --repair`
brings back the last commit, saying from where."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from cli_kit import realm_cli as realm
from realm_tui.store.storage import backup_path, generations


@pytest.fixture(scope="module")
def played_realm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A realm with two campaigns: three committed writes at least."""
    root = tmp_path_factory.mktemp("faults") / "realm"
    assert realm(root, "init", str(root)).returncode == 0
    for _ in range(2):
        out = realm(root, "campaign", "new")
        assert out.returncode == 0, out.stderr
    return root


@pytest.fixture
def realm_copy(played_realm: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "realm"
    shutil.copytree(played_realm, copy)
    return copy


def campaigns(home: Path) -> list[str]:
    out = realm(home, "campaign", "list")
    assert out.returncode == 0, out.stderr
    return sorted(line.split()[0] for line in out.stdout.splitlines() if "dio-nano-" in line)


def wipe(path: Path) -> None:
    path.write_text("{}")


def wrong_schema(path: Path) -> None:
    data = json.loads(path.read_text())
    data["meta"]["1"]["schema_version"] = "one"
    path.write_text(json.dumps(data))


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:40])


def garbage(path: Path) -> None:
    path.write_bytes(b"\x00\xffnot a store\x13")


def folder(path: Path) -> None:
    path.unlink()
    path.mkdir()
    (path / "inside").write_text("x")


@pytest.mark.parametrize("damage", [wipe, wrong_schema, truncate, garbage, folder])
def test_a_damaged_store_is_refused_by_every_command_and_repaired(
    realm_copy: Path, damage: Callable[[Path], None]
) -> None:
    store = realm_copy / "saves" / "realm.json"
    before = campaigns(realm_copy)
    assert len(before) == 2
    kept = {p: p.read_bytes() for p in [backup_path(store), *generations(store)]}
    assert len(kept) >= 3
    damage(store)

    for args in (["quest", "list"], ["vault", "list"], ["campaign", "list"], ["campaign", "new"]):
        out = realm(realm_copy, *args)
        assert out.returncode != 0, (args, out.stdout)
        assert "Traceback" not in out.stderr, out.stderr
        assert str(store) in out.stderr and "realm doctor --repair" in out.stderr, out.stderr
    doctor = realm(realm_copy, "doctor")
    assert doctor.returncode == 1 and "Traceback" not in doctor.stderr + doctor.stdout
    assert "Store" in doctor.stdout and "repair" in doctor.stdout
    # never treated as a new store: no backup was overwritten
    assert {p: p.read_bytes() for p in kept} == kept

    repaired = realm(realm_copy, "doctor", "--repair")
    assert "restored" in repaired.stdout and "backups" in repaired.stdout, repaired.stdout
    assert campaigns(realm_copy) == before  # nothing committed was lost
    assert list(store.parent.glob("realm.json.corrupt-*")), "the damaged file is kept aside"


def test_repair_of_a_good_store_changes_nothing(realm_copy: Path) -> None:
    store = realm_copy / "saves" / "realm.json"
    before = store.read_bytes()
    out = realm(realm_copy, "doctor", "--repair")
    assert "nothing to repair" in out.stdout
    assert store.read_bytes() == before
