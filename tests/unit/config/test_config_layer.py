"""config/ is the domain's floor: it imports only itself, the contract below it (TrainJob's defaults), `errors`
and `paths` (DESIGN §3).

quests/ and skills/ sit above it and read its models; a config module that imported them (even
lazily, inside a function) would close a circle."""

from __future__ import annotations

import ast
from pathlib import Path

import realm_tui.config

ALLOWED = ("realm_tui.config", "realm_tui.contract", "realm_tui.errors", "realm_tui.paths")


def _realm_imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return [n for n in names if n == "realm_tui" or n.startswith("realm_tui.")]


def test_config_imports_only_config_contract_errors_and_paths() -> None:
    folder = Path(realm_tui.config.__file__).parent
    wrong = {
        f"{path.name}: {name}"
        for path in sorted(folder.glob("*.py"))
        for name in _realm_imports(path)
        if not any(name == a or name.startswith(a + ".") for a in ALLOWED)
    }
    assert not wrong, sorted(wrong)
