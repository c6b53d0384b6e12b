"""OpenMP settings for the trainer child, applied before torch is imported.

torch's CPU build runs its kernels on GNU OpenMP threads (one per core). By default an idle
OpenMP thread spins at the end of each parallel region waiting for its siblings. When the
machine has fewer free cores than threads (another process, another battle, a test suite), the
spinning thread holds a core the late sibling needs, and every matmul waits for the scheduler:
on 2 shared cores a 0.45 B hero's training step went from ~7 s to ~55 s, and a 1024x3072 bf16
matmul ran 4-5x slower on 2 threads than on 1. `OMP_WAIT_POLICY=PASSIVE` makes waiting threads
sleep instead, which on a busy machine recovers the one-thread speed and on an idle one costs
little at real model sizes (a kernel runs for milliseconds, a wake-up takes microseconds).
A value the user exported is kept.
"""

from __future__ import annotations

import os
import sys

WAIT_POLICY = "PASSIVE"


def configure_openmp(environ: dict[str, str] | None = None) -> str | None:
    """Set `OMP_WAIT_POLICY` for this process unless already set; the value in effect.

    Only effective before torch (libgomp) is loaded; returns None when it is too late."""
    env = os.environ if environ is None else environ
    if "torch" in sys.modules and environ is None:
        return None
    env.setdefault("OMP_WAIT_POLICY", WAIT_POLICY)
    return env["OMP_WAIT_POLICY"]
