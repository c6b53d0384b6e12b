"""The trainer's own knob check, on the machine that trains, before any weight is loaded.

The parent already refused what it could see (`realm_tui.battle.preflight`); this re-checks with
`detect_environment()` here (a job may be launched elsewhere, e.g. under `accelerate launch`), so a
QLoRA battle on a machine without bitsandbytes' CUDA library ends with one `Error(kind="bad_input")`
instead of a traceback. Jobs whose hero or profile are not full validated configs (library and test
callers passing partial dicts) get only the trainer's own checks.
"""

from __future__ import annotations

import json

from pydantic import ValidationError

from realm_tui.armory.knobs import assess_knobs, knob_message
from realm_tui.contract.protocol import TrainJob
from realm_tui.errors import InputError
from realm_tui.trainer.environment import detect_environment


def check_job_knobs(job: TrainJob) -> list[str]:
    """Notes for the battle log; raises `InputError` when the knobs cannot work on this machine."""
    if not job.memory_profile:
        return []
    from realm_tui.config.hero import HeroConfig
    from realm_tui.config.memory_profile import MemoryProfile

    try:  # the parent sends `model_dump(mode="json")`: validate as JSON (int keys arrive as strings)
        hero = HeroConfig.model_validate_json(json.dumps(job.hero))
        profile = MemoryProfile.model_validate_json(json.dumps(job.memory_profile))
    except (ValidationError, TypeError, ValueError):
        return []
    report = assess_knobs(
        hero,
        profile,
        batch_size=job.batch_size,
        grad_accum=job.grad_accum,
        seq_len=job.max_length,
        optimizer=job.optimizer,
        precision=job.precision,
        **detect_environment().as_kwargs(),  # type: ignore[arg-type]
    )
    if report.problems:
        raise InputError(None, knob_message(hero.id, report.problems))
    return list(report.notes)
