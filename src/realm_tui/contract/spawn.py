"""Start a child process's entry point by name, so the parent never imports the child's code.

The parent (battle/, services/) spawns trainer-side entry points with
`Process(target=run_entry, args=("realm_tui.trainer.entry.battle", "child_main", conn))`: only
this trampoline is pickled for the spawn; the entry's module is imported inside the child. So
the parent's import graph holds no arrow into trainer/, and an entry module's imports (torch, in
the end) are paid by the child alone.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from typing import Any


def run_entry(module: str, func: str, *args: Any) -> Any:
    """Import `module` (in this process, the child) and call its `func(*args)`."""
    entry: Callable[..., Any] = getattr(importlib.import_module(module), func)
    return entry(*args)


def entry_point(module: str, func: str) -> Callable[..., Any]:
    """`run_entry` bound to one entry, as a picklable `target` that takes the entry's arguments."""
    return functools.partial(run_entry, module, func)
