"""Which school a job asks for: Scribe, Judge, Whisper (`trainer.schools`) or the Arena
(`trainer.arena_school`). Apart from both so neither imports the other's module round a circle."""

from __future__ import annotations

from realm_tui.contract.protocol import TrainJob
from realm_tui.contract.school_options import school_settings
from realm_tui.trainer.arena_school import Arena
from realm_tui.trainer.schools import Judge, Oracle, School, Whisper


def make_school(job: TrainJob) -> School:
    """The school a job asks for; a bad name or option is an `InputError`."""
    school_settings(job.school, job.school_options)
    oracle = Oracle.from_options(job.oracle_loss)
    if job.school == "judge":
        return Judge(job, oracle)
    if job.school == "whisper":
        return Whisper(job, oracle)
    if job.school == "arena":
        return Arena(job, oracle)
    return School(job, oracle)
