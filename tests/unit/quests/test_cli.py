"""`realm quest …` and `realm module …` as sub-apps (CliRunner), on a realm made by `realm init`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from realm_tui.cli.module import module_app, parse_levels
from realm_tui.cli.quest import quest_app
from realm_tui.errors import InputError
from realm_tui.services.init_realm import init_realm
from realm_tui.store import Store

from ._helpers import good_lines, line, write
from ._modules import make_zip, module_files

runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    realm, _ = init_realm(tmp_path / "realm")
    monkeypatch.setenv("REALM_HOME", str(realm.root))
    return realm.root


def quest(*args: str) -> tuple[int, str]:
    result = runner.invoke(quest_app, list(args))
    return result.exit_code, result.output


def module(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = runner.invoke(module_app, list(args), input=stdin)
    return result.exit_code, result.output


def test_add_list_show_prioritize_cancel_retry(home: Path, tmp_path: Path) -> None:
    src = write(tmp_path / "my quest.jsonl", good_lines(9) + ["{bad"])
    code, out = quest("add", str(src), "--priority", "low")
    assert code == 0, out
    assert "queued my-quest: queued (low)" in out and "1 invalid line(s) left out" in out
    write(home / "quests" / "inbox" / "dropped.jsonl", good_lines(2, "d"))
    code, out = quest("list")
    assert code == 0 and "my-quest" in out and "dropped" in out and "Picked up 1 file(s)" in out
    code, out = quest("show", "my-q")
    assert code == 0 and "queued" in out and "bad JSON" in out and "Invalid lines" in out
    assert quest("prioritize", "my-quest")[0] == 0
    code, out = quest("cancel", "my-quest")
    assert code == 0 and "cancelled" in out
    code, out = quest("list")
    assert "my-quest" not in out and "my-quest" in quest("list", "--all")[1]
    code, out = quest("retry", "my-quest", "--priority", "normal")
    assert code == 0 and "queued (normal)" in out
    code, out = quest("cancel", "nope")
    assert code == 2 and "realm: no quest 'nope'" in out


def test_validate_reports_levels_and_exit_codes(home: Path, tmp_path: Path) -> None:
    ok = write(tmp_path / "ok.jsonl", good_lines(2))
    code, out = quest("validate", str(ok))
    assert code == 0 and ": ok" in out and "limit 1024" in out  # dio-nano's max_length
    bad = write(tmp_path / "bad.jsonl", [line(), line(), line("x" * 1200, "y"), "nope"])
    code, out = quest("validate", str(bad))
    assert code == 2
    assert "content 1" in out and "tokens 1" in out and "schema 1" in out
    assert f"{bad}:2: duplicate of line 1 [content]" in out
    code, out = quest("validate", str(bad), "--max-tokens", "2000")
    assert "tokens 0" in out
    code, out = quest("validate", str(tmp_path / "missing.jsonl"))
    assert code == 2 and "not found" in out


def test_forge_and_spar(home: Path) -> None:
    code, out = quest("forge", "--skill", "bin", "--level", "2", "--count", "15")
    assert code == 0 and "forged train_bin_level2_15_" in out, out
    (forged,) = (home / "quests" / "queue" / "normal").glob("train_bin_level2_15_*.jsonl")
    assert len(forged.read_text().splitlines()) == 15
    code, out = quest("forge", "--skill", "nope", "--level", "1")
    assert code == 2 and "unknown skill" in out
    code, out = quest("spar", "--skill", "nope")
    assert code == 2 and "unknown skill" in out  # the real sparring round: tests/battle/test_skill_progression.py


def test_store_locked_by_a_battle_is_one_line_exit_1(home: Path, tmp_path: Path) -> None:
    with Store.open(home / "saves" / "realm.json"):
        code, out = quest("list")
    assert code == 1 and out.startswith("realm: ") and len(out.strip().splitlines()) == 1, out


def test_module_commands(home: Path, tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "mini.zip", [])
    code, out = module("validate", str(archive))
    assert code == 0 and "valid module" in out
    code, out = module("install", str(archive))
    assert code == 0 and "installed mini 1.0.0" in out
    newer = make_zip(tmp_path / "mini2.zip", [], base=module_files(version="1.2.0"))
    code, out = module("install", str(newer), stdin="n\n")
    assert code == 2 and "--force" in out
    code, out = module("install", str(newer), stdin="y\n")
    assert code == 0 and "replaced 1.0.0" in out
    code, out = module("list")
    assert code == 0 and "mini" in out and "1.2.0" in out
    code, out = module("info", "mini")
    assert code == 0 and "seq_continue" in out and "valid module" in out
    evil = make_zip(tmp_path / "evil.zip", [("../evil.jsonl", b"x")])
    code, out = module("install", str(evil))
    assert code == 2 and "'..'" in out
    code, out = module("export", "bin", "--output", str(tmp_path / "bin.zip"), "--levels", "1-2", "--count", "10")
    assert code == 0 and "exported bin-pack 1.0.0" in out
    code, out = module("uninstall", "mini", "--yes")
    assert code == 0 and "uninstalled mini" in out
    assert module("info", "mini")[0] == 2


def test_parse_levels() -> None:
    assert parse_levels("1-3,7") == [1, 2, 3, 7] and parse_levels("4") == [4]
    for bad in ("0-2", "3-1", "x", ""):
        with pytest.raises(InputError):
            parse_levels(bad)


def test_sub_apps_import_nothing_heavy() -> None:
    probe = (
        "import sys, json\nimport realm_tui.cli.quest, realm_tui.cli.module\n"
        "from realm_tui.cli.quest import quest_app\nfrom typer.testing import CliRunner\n"
        "CliRunner().invoke(quest_app, ['--help'])\nprint(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    heavy = {"torch", "transformers", "textual", "realm_tui.skills", "realm_tui.store"}
    assert not {m for m in loaded if m in heavy or m.split(".")[0] in heavy}
