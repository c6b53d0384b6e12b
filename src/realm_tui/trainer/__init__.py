"""trainer: the child-process side (model, data, loop, checkpoints, the one optimizer factory).

This package is the only one that imports torch/transformers/peft/accelerate/bitsandbytes, and only
in its submodules: importing `realm_tui.trainer` stays torch-free. It imports `contract/` and the
pure domain it needs (`skills/`, `config/`, `armory/`'s names and estimates), never the parent
(battle/, quests/, store/, services/, ui/, cli/); the parent starts its entry points
(`trainer/entry/`) by name, in a child process. Checked by `tests/test_imports.py`.
"""
