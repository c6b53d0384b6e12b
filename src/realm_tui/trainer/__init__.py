"""trainer: the child-process side (model, data, loop, checkpoints).

This package is the only one that imports torch/transformers/peft/accelerate, and only in its
submodules: importing `realm_tui.trainer` (or `realm_tui.contract.manifest`) stays torch-free.
"""
