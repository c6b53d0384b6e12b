"""The house (docs/architecture.md): imports run one way, no file imports itself round a circle,
no function grows past 80 lines, and the import contracts in pyproject.toml really bite.

`make test` runs `lint-imports` itself; the test here proves the contracts fail on a violation
by planting one in a copy of the package.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "realm_tui"
MAX_FUNCTION_LINES = 80


def _strongly_connected(graph: grimp.ImportGraph) -> list[list[str]]:
    """Tarjan's algorithm over the file-level import graph; components of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        # Iterative DFS so a deep chain never meets Python's recursion limit.
        work: list[tuple[str, list[str]]] = []
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        work.append((root, sorted(graph.find_modules_directly_imported_by(root))))
        while work:
            node, targets = work[-1]
            if targets:
                target = targets.pop()
                if target not in index:
                    index[target] = low[target] = counter
                    counter += 1
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, sorted(graph.find_modules_directly_imported_by(target))))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycles_between_files() -> None:
    graph = grimp.build_graph("realm_tui", cache_dir=None)
    cycles = _strongly_connected(graph)
    assert not cycles, "modules that import each other round a circle:\n" + "\n".join(map(str, cycles))


def test_the_cycle_finder_finds_a_planted_circle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = tmp_path / "circle_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from circle_pkg import b\n")
    (pkg / "b.py").write_text("def f():\n    from circle_pkg import a  # lazy imports count too\n")
    (pkg / "c.py").write_text("from circle_pkg import a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    cycles = _strongly_connected(grimp.build_graph("circle_pkg", cache_dir=None))
    assert cycles == [["circle_pkg.a", "circle_pkg.b"]]


def _long_functions(root: Path) -> list[str]:
    long = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(root)}:{node.lineno} {node.name} ({length} lines)")
    return long


def test_no_function_is_longer_than_80_lines() -> None:
    assert not _long_functions(PACKAGE)


def test_the_length_check_sees_a_long_function(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    (tmp_path / "long.py").write_text(f"def too_long():\n{body}\n")
    assert _long_functions(tmp_path) == ["long.py:1 too_long (81 lines)"]


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    lint = Path(sys.executable).with_name("lint-imports")
    return subprocess.run(
        [str(lint), "--no-cache", "--no-logo", "pyproject.toml"],
        cwd=root,
        env={"PYTHONPATH": str(root / "src"), "PATH": str(lint.parent)},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("module", "planted", "broken"),
    [
        ("trainer/planted.py", "from realm_tui.store import Store\n", "The trainer child imports nothing"),
        ("rules/planted.py", "import torch\n", "torch and the model libraries only in trainer/"),
        ("store/planted.py", "from realm_tui.battle import conductor\n", "Layers"),
        ("services/planted.py", "import textual\n", "textual only in ui/"),
    ],
)
def test_the_import_contracts_fail_on_a_violation(tmp_path: Path, module: str, planted: str, broken: str) -> None:
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(PACKAGE, tmp_path / "src" / "realm_tui", ignore=shutil.ignore_patterns("__pycache__"))
    assert _lint_imports(tmp_path).returncode == 0, "the clean copy must pass first"
    (tmp_path / "src" / "realm_tui" / module).write_text(planted)
    result = _lint_imports(tmp_path)
    assert result.returncode != 0
    assert f"{broken}" in result.stdout and "BROKEN" in result.stdout
