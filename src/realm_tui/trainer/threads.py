"""OpenMP and glibc malloc settings for the trainer child, applied before torch is imported.

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


# glibc's mallopt parameters (malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 1 << 30
"""Blocks below 1 GiB come from the heap, so a step's freed tensors are reused by the next step."""
TRIM_THRESHOLD = (1 << 31) - 1
"""Free heap memory is handed back to the kernel only above 2 GiB (mallopt takes a C int)."""
MALLOC_ENV = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")


def configure_malloc(environ: dict[str, str] | None = None) -> bool:
    """Let glibc keep the memory a training step frees for the next step; whether it was set.

    By default glibc serves every block above 32 MiB with its own mmap and unmaps it on free,
    and trims the heap top, so each step's gradients (a 151,936-row embedding's alone is 622 MB),
    logits and activations are faulted in and zero-filled by the kernel again: on a 0.6 B hero
    ~0.8-1.3 M page faults and ~2.4 s of system time per full fine-tuning step (of ~15 s of CPU).
    Higher thresholds keep those pages mapped; the peak (which the process reaches every step
    anyway) is unchanged. Skipped where the user set glibc's malloc variables, or off glibc."""
    env = os.environ if environ is None else environ
    if not sys.platform.startswith("linux") or any(key in env for key in MALLOC_ENV):
        return False
    import ctypes

    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # musl and others: no glibc mallopt
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
