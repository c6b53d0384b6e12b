"""The rules package must stay pure: importing it pulls in no heavy or UI libraries."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

FORBIDDEN = ("torch", "textual", "tinydb", "transformers")


def test_import_rules_leaves_heavy_modules_unloaded() -> None:
    code = (
        "import sys, realm_tui.rules\n"
        f"bad = sorted(m for m in {FORBIDDEN!r} if m in sys.modules)\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "", f"realm_tui.rules imported: {out.stdout.strip()}"


def test_rules_modules_stay_small() -> None:
    import realm_tui.rules

    package = Path(realm_tui.rules.__file__).parent
    for module in package.glob("*.py"):
        assert len(module.read_text(encoding="utf-8").splitlines()) < 400, module.name


def test_rules_import_nothing_impure() -> None:
    """No clock, I/O, randomness or other realm packages inside rules/."""
    import ast

    import realm_tui.rules

    allowed = {"__future__", "collections", "dataclasses", "enum", "functools", "math", "typing"}
    package = Path(realm_tui.rules.__file__).parent
    for module in package.glob("*.py"):
        tree = ast.parse(module.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in allowed or name.startswith("realm_tui.rules"), f"{module.name} imports {name}"


def test_public_names_exist() -> None:
    import realm_tui.rules as rules

    missing = [name for name in rules.__all__ if not hasattr(rules, name)]
    assert missing == []
