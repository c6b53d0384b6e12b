"""contract.spawn: the parent starts a child's entry point by name, importing it in the child only."""

from __future__ import annotations

import multiprocessing
import pickle
import subprocess
import sys

from realm_tui.contract.spawn import entry_point, run_entry


def test_run_entry_imports_the_module_and_calls_the_function() -> None:
    assert run_entry("json", "dumps", [1, "a"]) == '[1, "a"]'
    bound = pickle.loads(pickle.dumps(entry_point("json", "dumps")))  # what spawn sends the child
    assert bound({"k": 2}) == '{"k": 2}'


def test_a_spawned_child_runs_the_named_entry() -> None:
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(target=run_entry, args=("os", "_exit", 7))
    proc.start()
    proc.join(60)
    assert proc.exitcode == 7


def test_naming_the_trainer_entry_imports_no_trainer_module() -> None:
    code = (
        "import json, sys\nimport realm_tui.battle.bridge, realm_tui.services.oracle, realm_tui.services.answerer\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('realm_tui.trainer'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
