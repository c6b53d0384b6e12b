"""The battle's optimizer: `realm_tui.trainer.optimizers.build_optimizer` with the job's arguments.

Arguments, later ones winning: the memory profile's `optimizer_args` (only when the job's
optimizer is the profile's own: a profile's AdamW betas mean nothing to Muon), the profile's
`galore:` section for a GaLore optimizer, then `TrainJob.optimizer_args`.
"""

from __future__ import annotations

from typing import Any

import torch

from realm_tui.armory.optimizers import GALORE_KEYS
from realm_tui.contract.protocol import TrainJob
from realm_tui.errors import InputError
from realm_tui.trainer.optimizers import build_optimizer
from realm_tui.trainer.peft_setup import check_method_optimizer


def job_optimizer_kwargs(job: TrainJob) -> dict[str, Any]:
    profile = job.memory_profile or {}
    kwargs: dict[str, Any] = {}
    if profile.get("optimizer") == job.optimizer:
        kwargs.update(profile.get("optimizer_args") or {})
    galore = profile.get("galore")
    if job.optimizer.startswith("galore_") and galore:
        for key in GALORE_KEYS:
            if key in galore:
                kwargs[key] = galore[key]
    kwargs.update(job.optimizer_args or {})
    return kwargs


def _fused_ok(model: Any) -> bool:
    params = [p for p in model.parameters() if p.requires_grad]
    devices = {p.device.type for p in params}
    return (
        bool(params) and devices <= {"cpu", "cuda"} and len(devices) == 1 and all(p.is_floating_point() for p in params)
    )


def make_job_optimizer(job: TrainJob, model: Any, method: str) -> tuple[torch.optim.Optimizer, list[str]]:
    """(optimizer, notes for the battle log). Raises `InputError` for a name, a method or arguments
    that do not go together."""
    check_method_optimizer(method, job.optimizer)
    kwargs = job_optimizer_kwargs(job)
    if job.optimizer == "adamw" and not {"fused", "foreach"} & kwargs.keys() and _fused_ok(model):
        # torch's fused kernel runs on CPU and CUDA and is several times faster than the
        # per-tensor loop on small models (same maths, same state dict).
        kwargs["fused"] = True
    notes: list[str] = []
    try:
        optimizer = build_optimizer(job.optimizer, model, job.learning_rate, job.weight_decay, notes=notes, **kwargs)
    except TypeError as err:
        raise InputError(None, f"optimizer {job.optimizer}: optimizer_args do not fit it ({err})") from err
    return optimizer, [f"optimizer {job.optimizer}: {note}" for note in notes]


def follow_job_lr(optimizer: torch.optim.Optimizer, scheduler: Any, learning_rate: float) -> str | None:
    """After a resume, the job's learning rate instead of the checkpoint's; a note when it changed.

    A checkpoint's optimizer and scheduler states carry the learning rate they were built with, so
    a new one (the Armory's, the Arena's `lr_scale`) was silently replaced by the old on resume. Every
    param group and the scheduler's base rates are scaled by new / old, so a schedule's shape and
    groups with their own rates (Muon beside AdamW) keep their ratios; the same rate: no change."""
    base = list(getattr(scheduler, "base_lrs", []) or [g.get("initial_lr", g["lr"]) for g in optimizer.param_groups])
    if not base or not base[0] or abs(float(base[0]) - learning_rate) <= 1e-12 * learning_rate:
        return None
    factor = learning_rate / float(base[0])
    for group in optimizer.param_groups:
        group["lr"] = float(group["lr"]) * factor
        if "initial_lr" in group:
            group["initial_lr"] = float(group["initial_lr"]) * factor
    if hasattr(scheduler, "base_lrs"):
        scheduler.base_lrs = [float(b) * factor for b in scheduler.base_lrs]
    if hasattr(scheduler, "_last_lr"):
        scheduler._last_lr = [float(g["lr"]) for g in optimizer.param_groups]
    was = float(base[0])
    return f"learning rate {learning_rate:g} for this battle (the checkpoint was trained at {was:g})"


def fresh_moments(optimizer: Any) -> str:
    """Forget the optimizer's per-parameter state (Adam's moments and step count; a wrapped
    optimizer's inner one): the next step starts it as a new optimizer would, with the current
    learning rate and schedule. A note for the battle log."""
    inner = getattr(optimizer, "optimizer", optimizer)
    held = len(inner.state)
    inner.state.clear()
    return f"optimizer state started afresh ({held} parameter states of the checkpoint's school dropped)"
