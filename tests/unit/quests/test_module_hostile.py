"""Hostile modules the first install checks let through (issue 13, defect 10): names that are not
UTF-8, manifest errors naming a staging folder that is gone, and a 239 KiB zip unpacking to
240 MiB. From the outside where it matters: `realm module install` as a subprocess."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest
import yaml

from cli_kit import realm_cli
from realm_tui.quests.archive import UnsafeArchive, _Budget
from realm_tui.quests.modules import install_module, validate_module_source
from realm_tui.quests.policy import ArchiveLimits, QuestPolicy
from realm_tui.services.init_realm import init_realm

from ._modules import info, make_zip, manifest, module_files, module_folder

MIB = 1 << 20


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return init_realm(tmp_path / "realm")[0].root


def installed(home: Path) -> list[str]:
    return sorted(p.name for p in (home / "quests" / "modules").iterdir())


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(info(name), data)
    return buf.getvalue()


# ---------------------------------------------------------------- zip bomb


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A valid module plus four 60 MiB files of zeros: about 239 KiB that unpack to 240 MiB, each
    file under the 64 MiB per-file limit and the whole under the 256 MiB total."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.zip"
    block = b"\x00" * MIB
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for rel, data in module_files().items():
            zf.writestr(info(rel), data)
        for i in range(4):
            with zf.open(info(f"docs/zeros{i}.txt"), "w") as out:
                for _ in range(60):
                    out.write(block)
    return path


def test_a_zip_bomb_is_refused_before_anything_is_unpacked(home: Path, bomb: Path) -> None:
    declared = sum(i.file_size for i in zipfile.ZipFile(bomb).infolist())
    assert bomb.stat().st_size < 300 * 1024 and declared > 240 * MIB  # the defect's shape
    out = realm_cli(home, "module", "install", str(bomb))
    assert out.returncode == 2, out.stdout + out.stderr
    text = " ".join(out.stderr.split())
    assert f"{bomb}: refused:" in text and "more than 100× (a zip bomb?)" in text
    assert installed(home) == []  # no module, no staging folder left


def test_real_bytes_are_held_to_the_ratio_while_extracting(tmp_path: Path) -> None:
    """Headers that lie consistently (small sizes, ratio fine) are caught on the bytes written."""
    budget = _Budget(tmp_path, ArchiveLimits(), packed_bytes=10_000)  # 100× of it: about 1 MiB
    with pytest.raises(UnsafeArchive, match="zip bomb"):
        budget.copy(io.BytesIO(b"\x00" * (2 * MIB)), tmp_path / "a", "a", declared=None)
    budget = _Budget(tmp_path, ArchiveLimits(), packed_bytes=100_000)
    assert budget.copy(io.BytesIO(b"\x00" * (2 * MIB)), tmp_path / "b", "b", declared=None) == 2 * MIB


def test_the_ratio_is_set_in_configs_quests_yaml(home: Path, bomb: Path) -> None:
    roomy = QuestPolicy(archive=ArchiveLimits(max_ratio=2000, max_total_bytes=1 << 30, max_file_bytes=1 << 30))
    check = validate_module_source(bomb, roomy)  # a player who really wants it raises max_ratio
    assert check.ok, check.summary()


def test_the_shipped_module_is_far_below_the_ratio(home: Path, tmp_path: Path) -> None:
    shipped = Path(__file__).resolve().parents[3] / "quests" / "modules" / "seq-drills"
    files = {p.relative_to(shipped).as_posix(): p.read_bytes() for p in shipped.rglob("*") if p.is_file()}
    archive = tmp_path / "seq-drills.zip"
    archive.write_bytes(zip_bytes(files))
    assert install_module(init_realm(home)[0], archive).module.manifest.id == "seq-drills"


# ---------------------------------------------------------------- names that are not UTF-8


def _raw_name_zip(path: Path, placeholder: bytes, raw: bytes) -> Path:
    """A valid module zip with one more entry whose name bytes are `raw` (no UTF-8 flag)."""
    assert len(placeholder) == len(raw)
    data = zip_bytes({**module_files(), f"docs/{placeholder.decode()}.txt": b"notes\n"})
    assert data.count(placeholder) == 2  # local header and central directory
    path.write_bytes(data.replace(placeholder, raw))
    return path


def test_a_zip_name_that_is_not_utf8_is_refused(home: Path, tmp_path: Path) -> None:
    archive = _raw_name_zip(tmp_path / "latin1.zip", b"cafX", b"caf\xe9")
    out = realm_cli(home, "module", "install", str(archive))
    assert out.returncode == 2, out.stdout + out.stderr
    assert "the name is not UTF-8 text" in out.stderr and str(archive) in out.stderr
    assert installed(home) == []


def test_a_utf8_name_without_the_flag_keeps_its_real_name(home: Path, tmp_path: Path) -> None:
    archive = _raw_name_zip(tmp_path / "utf8.zip", b"cafXY", "café".encode())
    result = install_module(init_realm(home)[0], archive)
    assert (result.module.root / "docs" / "café.txt").is_file()  # not cp437 mojibake ("cafÃ©")


def test_a_folder_file_name_that_is_not_utf8_is_refused(home: Path, tmp_path: Path) -> None:
    folder = module_folder(tmp_path / "mod")
    (folder / "docs").mkdir()
    with open(os.path.join(os.fsencode(folder / "docs"), b"caf\xe9.txt"), "wb") as fh:
        fh.write(b"notes\n")
    with pytest.raises(UnsafeArchive, match="not UTF-8"):
        install_module(init_realm(home)[0], folder)
    assert installed(home) == []


# ---------------------------------------------------------------- manifest errors name the archive


def test_manifest_errors_name_the_archive_not_the_staging_folder(home: Path, tmp_path: Path) -> None:
    bad = {**module_files(), "manifest.yaml": yaml.safe_dump({**manifest(), "version": "one"}).encode()}
    archive = tmp_path / "badver.zip"
    archive.write_bytes(zip_bytes(bad))
    out = realm_cli(home, "module", "install", str(archive))
    assert out.returncode == 2
    text = " ".join(out.stderr.split())
    assert f"{archive}: manifest.yaml: version" in text, text
    assert ".install-" not in text and "/pkg/" not in text
    nested = tmp_path / "nested.zip"
    nested.write_bytes(zip_bytes({f"mini/{k}": v for k, v in bad.items()}))
    out = realm_cli(home, "module", "validate", str(nested))
    text = " ".join((out.stdout + out.stderr).split())
    assert out.returncode == 2 and f"{nested}: mini/manifest.yaml: version" in text, text
    assert "realm-module-" not in text
    no_manifest = make_zip(tmp_path / "none.zip", [], base={"data/level1.jsonl": b"{}\n"})
    out = realm_cli(home, "module", "install", str(no_manifest))
    assert out.returncode == 2 and str(no_manifest) in out.stderr and ".install-" not in out.stderr
