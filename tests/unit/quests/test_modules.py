"""Quest modules: install (zip and folder), hostile archives, replace with a swap, export, list."""

from __future__ import annotations

import io
import os
import stat
import zipfile
from pathlib import Path

import pytest

from realm_tui.errors import InputError
from realm_tui.paths import RealmPaths
from realm_tui.quests import modules as modules_module
from realm_tui.quests.archive import UnsafeArchive, _Budget
from realm_tui.quests.drills import build
from realm_tui.quests.export import export_skill
from realm_tui.quests.modules import (
    check_module,
    get_module,
    install_module,
    list_modules,
    uninstall_module,
    validate_module_source,
)
from realm_tui.quests.policy import ArchiveLimits, QuestPolicy

from ._helpers import all_files
from ._modules import (
    info,
    lying_bomb,
    make_zip,
    module_files,
    module_folder,
    special_entry,
    symlink_entry,
)

pytestmark = pytest.mark.filterwarnings("ignore:Duplicate name:UserWarning")

REPO = Path(__file__).resolve().parents[3]
SMALL = QuestPolicy(archive=ArchiveLimits(max_entries=20, max_total_bytes=1_000_000, max_file_bytes=500_000))


def _modules(realm: RealmPaths) -> list[str]:
    return sorted(p.name for p in (realm.quests / "modules").iterdir())


def _assert_nothing_installed(realm: RealmPaths, outside: Path) -> None:
    assert _modules(realm) == []  # no module, no staging leftovers
    assert not [p for p in outside.rglob("evil*") if p.suffix != ".zip"]


def test_install_from_zip_and_folder(realm: RealmPaths, tmp_path: Path) -> None:
    result = install_module(realm, make_zip(tmp_path / "mini.zip", []))
    assert result.module.root == realm.quests / "modules" / "mini" and result.replaced is None
    assert sorted(result.unpacked.files) == sorted(module_files())
    assert _modules(realm) == ["mini"]
    uninstall_module(realm, "mini")
    folder = module_folder(tmp_path / "src")
    assert install_module(realm, folder).module.id == "mini"
    assert get_module(realm, "mini").data_files(level=1) == [realm.quests / "modules/mini/data/level1.jsonl"]
    assert get_module(realm, "mini").eval_files("mini") == [realm.quests / "modules/mini/eval/level1.jsonl"]


def test_zip_with_a_single_top_folder_and_mac_junk(realm: RealmPaths, tmp_path: Path) -> None:
    base = {f"mini-1.0/{k}": v for k, v in module_files().items()}
    junk = [("__MACOSX/mini-1.0/._manifest.yaml", b"\x00"), ("mini-1.0/.DS_Store", b"\x00")]
    result = install_module(realm, make_zip(tmp_path / "m.zip", junk, base=base))
    assert result.module.id == "mini" and len(result.unpacked.skipped) == 2
    assert not (realm.quests / "modules" / "mini" / ".DS_Store").exists()


HOSTILE = [
    ([("/tmp/evil-realm-test.jsonl", b"x")], "absolute path"),
    ([("../evil.jsonl", b"x")], "'..'"),
    ([("data/../../evil.jsonl", b"x")], "'..'"),
    ([("C:/evil.jsonl", b"x")], "drive letter"),
    ([("C:evil.jsonl", b"x")], "drive letter"),
    ([("..\\evil.jsonl", b"x")], "backslash"),
    ([("data/evil\x01.jsonl", b"x")], "control characters"),
    ([("data/NUL.txt", b"x")], "not a portable file name"),
    ([symlink_entry("data/evil.jsonl", "/etc/passwd")], "symbolic link"),
    ([symlink_entry("evil", "../../..")], "symbolic link"),
    ([special_entry("data/evil.jsonl", stat.S_IFIFO)], "FIFO"),
    ([special_entry("data/evil", stat.S_IFCHR)], "character device"),
    ([special_entry("data/evil", stat.S_IFBLK)], "block device"),
    ([("data/level1.jsonl", b"{}\n")], "duplicate name"),
    ([("DATA/Level1.jsonl", b"{}\n")], "duplicate name"),
    ([("README.md/evil.jsonl", b"x")], "both a file and a folder"),
    ([("skills/run.py", b"import os")], "file type not allowed"),
    ([("a/b/c/d/e/f/g/h/i/evil.txt", b"x")], "nested deeper"),
    ([("x" * 300 + ".txt", b"x")], "longer than"),
]


@pytest.mark.parametrize(("entries", "message"), HOSTILE, ids=[m for _, m in HOSTILE])
def test_hostile_zip_entries_are_refused(realm: RealmPaths, tmp_path: Path, entries: list, message: str) -> None:
    archive = make_zip(tmp_path / "evil.zip", entries)
    with pytest.raises(UnsafeArchive, match=message):
        install_module(realm, archive)
    _assert_nothing_installed(realm, tmp_path.parent)
    assert not Path("/tmp/evil-realm-test.jsonl").exists()
    with pytest.raises(UnsafeArchive, match=message):
        validate_module_source(archive)


def test_encrypted_and_unknown_compression(realm: RealmPaths, tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "enc.zip", [("notes.txt", b"secret")])
    raw = bytearray(archive.read_bytes())
    for sig, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # set the encrypted flag bit
        at = raw.rfind(sig)
        raw[at + offset] |= 1
    archive.write_bytes(bytes(raw))
    with pytest.raises(UnsafeArchive, match="encrypted"):
        install_module(realm, archive)
    _assert_nothing_installed(realm, tmp_path.parent)


def test_too_many_entries(realm: RealmPaths, tmp_path: Path) -> None:
    entries = [(f"docs/n{i}.txt", b"x") for i in range(30)]
    with pytest.raises(UnsafeArchive, match="more than 20"):
        install_module(realm, make_zip(tmp_path / "many.zip", entries), policy=SMALL)
    _assert_nothing_installed(realm, tmp_path.parent)


def test_honest_bomb_is_refused_before_unpacking(realm: RealmPaths, tmp_path: Path) -> None:
    entries = [(f"docs/zeros{i}.txt", b"\x00" * 400_000) for i in range(4)]
    with pytest.raises(UnsafeArchive, match="would unpack to 1,600,"):
        install_module(realm, make_zip(tmp_path / "bomb.zip", entries), policy=SMALL)
    _assert_nothing_installed(realm, tmp_path.parent)


def test_lying_header_bomb_is_caught(realm: RealmPaths, tmp_path: Path) -> None:
    archive = lying_bomb(tmp_path / "liar.zip")
    assert zipfile.ZipFile(archive).getinfo("data/level1.jsonl").file_size == 1000  # the lie
    with pytest.raises(UnsafeArchive, match="lying header"):
        install_module(realm, archive, policy=SMALL)
    _assert_nothing_installed(realm, tmp_path.parent)


def test_real_bytes_are_counted_while_streaming(tmp_path: Path) -> None:
    limits = ArchiveLimits(max_file_bytes=10_000, max_total_bytes=15_000)
    budget = _Budget(tmp_path, limits)
    with pytest.raises(UnsafeArchive, match="more bytes than its header says"):
        budget.copy(io.BytesIO(b"x" * 5000), tmp_path / "a", "a", declared=100)  # a reader that ignores headers
    with pytest.raises(UnsafeArchive, match="larger than 10,000 bytes"):
        budget.copy(io.BytesIO(b"x" * 20_000), tmp_path / "b", "b", declared=None)
    budget = _Budget(tmp_path, limits)
    budget.copy(io.BytesIO(b"x" * 9000), tmp_path / "c", "c", declared=None)
    with pytest.raises(UnsafeArchive, match="more than 15,000 bytes once unpacked"):
        budget.copy(io.BytesIO(b"x" * 9000), tmp_path / "d", "d", declared=None)


def test_not_a_zip_and_no_manifest(realm: RealmPaths, tmp_path: Path) -> None:
    junk = tmp_path / "junk.zip"
    junk.write_bytes(os.urandom(200))
    with pytest.raises(InputError, match="expected a folder or a .zip"):
        install_module(realm, junk)
    bare = make_zip(tmp_path / "bare.zip", [], base={"data/level1.jsonl": b"{}\n"})
    with pytest.raises(InputError, match="no manifest.yaml"):
        install_module(realm, bare)
    _assert_nothing_installed(realm, tmp_path.parent)


def test_invalid_manifest_or_data_is_refused(realm: RealmPaths, tmp_path: Path) -> None:
    bad_manifest = module_files(version="one")
    with pytest.raises(InputError, match="version"):
        install_module(realm, make_zip(tmp_path / "v.zip", [], base=bad_manifest))
    bad_data = module_files()
    bad_data["data/level1.jsonl"] += b"{not json\n"
    with pytest.raises(InputError, match=r"data/level1.jsonl:4: bad JSON"):
        install_module(realm, make_zip(tmp_path / "d.zip", [], base=bad_data))
    miscounted = module_files()
    miscounted["eval/level1.jsonl"] = miscounted["eval/level1.jsonl"].splitlines(keepends=True)[0]
    with pytest.raises(InputError, match="says 2 examples, the file has 1"):
        install_module(realm, make_zip(tmp_path / "c.zip", [], base=miscounted))
    _assert_nothing_installed(realm, tmp_path.parent)


def test_hostile_folders(realm: RealmPaths, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cret")
    cases = {
        "symlink": lambda root: (root / "docs.txt").symlink_to(secret),
        "dirlink": lambda root: (root / "docs").symlink_to(tmp_path),
        "hardlink": lambda root: os.link(secret, root / "hard.txt"),
        "fifo": lambda root: os.mkfifo(root / "pipe.txt"),
    }
    messages = {"symlink": "symbolic link", "dirlink": "symbolic link", "hardlink": "hard link", "fifo": "FIFO"}
    for name, plant in cases.items():
        root = module_folder(tmp_path / name)
        plant(root)
        with pytest.raises(UnsafeArchive, match=messages[name]):
            install_module(realm, root)
        _assert_nothing_installed(realm, tmp_path.parent)
    assert secret.read_text() == "s3cret"


def test_reinstall_asks_and_keeps_the_old_copy_until_the_new_one_is_ready(
    realm: RealmPaths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_module(realm, make_zip(tmp_path / "v1.zip", []))
    v2 = make_zip(tmp_path / "v2.zip", [], base=module_files(version="1.1.0"))
    with pytest.raises(InputError, match=r"mini 1.0.0 is installed; .* --force"):
        install_module(realm, v2)
    asked = []
    with pytest.raises(InputError):
        install_module(realm, v2, confirm=lambda old, new: asked.append((old, new)) or False)
    assert asked[0][0].version == "1.0.0" and asked[0][1].version == "1.1.0"
    broken = module_files(version="2.0.0")
    broken["data/level1.jsonl"] = b"nope\n"
    with pytest.raises(InputError):
        install_module(realm, make_zip(tmp_path / "bad.zip", [], base=broken), force=True)
    assert get_module(realm, "mini").manifest.version == "1.0.0"

    real_replace = os.replace

    def flaky(src: object, dst: object) -> None:
        if Path(str(dst)).name == "mini" and ".install-" in str(src):
            raise OSError("disk full")
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(modules_module.os, "replace", flaky)
    with pytest.raises(OSError, match="disk full"):
        install_module(realm, v2, force=True)
    monkeypatch.undo()
    assert get_module(realm, "mini").manifest.version == "1.0.0" and _modules(realm) == ["mini"]

    result = install_module(realm, v2, confirm=lambda old, new: True)
    assert result.replaced is not None and result.replaced.version == "1.0.0"
    assert get_module(realm, "mini").manifest.version == "1.1.0" and _modules(realm) == ["mini"]
    assert b"train 1.1.0" in (realm.quests / "modules/mini/data/level1.jsonl").read_bytes()


def test_list_info_uninstall(realm: RealmPaths, tmp_path: Path) -> None:
    install_module(realm, make_zip(tmp_path / "m.zip", []))
    broken = realm.quests / "modules" / "broken"
    broken.mkdir()
    (broken / "manifest.yaml").write_text("id: [\n")
    entries = {e.folder.name: e for e in list_modules(realm)}
    assert entries["mini"].module is not None and entries["broken"].module is None
    assert "invalid YAML" in (entries["broken"].error or "")
    with pytest.raises(InputError, match="invalid YAML"):
        get_module(realm, "broken")
    uninstall_module(realm, "broken")
    with pytest.raises(InputError, match="no module 'ghost'"):
        uninstall_module(realm, "ghost")
    with pytest.raises(InputError, match="no module"):
        uninstall_module(realm, "../quests")
    for not_an_id in ("", ".", "mini/", "mini/..", "MINI", "-mini"):  # "" named the modules folder itself
        with pytest.raises(InputError, match="no module"):
            uninstall_module(realm, not_an_id)
    assert _modules(realm) == ["mini"] and (realm.quests / "modules" / "mini" / "manifest.yaml").is_file()


def test_shipped_example_module_is_valid_small_and_reproducible(tmp_path: Path) -> None:
    shipped = REPO / "quests" / "modules" / "seq-drills"
    check = check_module(shipped)
    assert check.ok, check.summary()
    assert sum(p.stat().st_size for p in all_files(shipped)) < 200_000
    build(tmp_path / "rebuilt")
    for path in all_files(shipped):
        assert (tmp_path / "rebuilt" / path.relative_to(shipped)).read_bytes() == path.read_bytes(), path
    train = {line for p in (shipped / "data").iterdir() for line in p.read_text().splitlines()}
    held = {line for p in (shipped / "eval").iterdir() for line in p.read_text().splitlines()}
    assert not train & held


def test_shipped_module_installs_into_a_new_realm(realm: RealmPaths) -> None:
    result = install_module(realm, REPO / "quests" / "modules" / "seq-drills")
    assert result.module.id == "seq-drills" and not result.warnings


def test_export_a_skill_and_install_it(realm: RealmPaths, tmp_path: Path) -> None:
    out = tmp_path / "bin.zip"
    manifest = export_skill("bin", out, levels=[1, 2], count=30, eval_count=10)
    assert manifest.id == "bin-pack" and [d.skill_level for d in manifest.data] == [1, 2]
    names = zipfile.ZipFile(out).namelist()
    assert "manifest.yaml" in names and "eval/level2.jsonl" in names
    assert install_module(realm, out).module.id == "bin-pack"
    with pytest.raises(InputError, match="exists already"):
        export_skill("bin", out, levels=[1], count=5, eval_count=5)
    with pytest.raises(InputError, match="unknown skill"):
        export_skill("nope", tmp_path / "x.zip", levels=[1], count=5, eval_count=5)
    with pytest.raises(InputError, match="module id"):
        export_skill("bin", tmp_path / "y.zip", levels=[1], count=5, eval_count=5, module_id="Bad/Id")


def test_zip_info_helper_marks_unix_modes() -> None:
    assert (info("x", stat.S_IFLNK | 0o777).external_attr >> 16) & stat.S_IFLNK == stat.S_IFLNK
