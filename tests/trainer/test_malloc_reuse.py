"""The trainer child's glibc tuning (`trainer.threads.configure_malloc`): a block a step frees is
reused by the next step instead of being unmapped and faulted in again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from realm_tui.trainer.threads import configure_malloc

glibc = pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.confstr("CS_GNU_LIBC_VERSION") is None,
    reason="glibc's mallopt only",
)

# Allocates and touches a 64 MiB block twice (like a step's gradients); prints the page faults of
# the second time. Run in a fresh process: mallopt is process-wide.
PROBE = """
import json, resource, sys
from realm_tui.trainer.threads import configure_malloc
tuned = configure_malloc() if sys.argv[1] == "tuned" else False
size = 64 << 20
block = bytearray(size)
block[::4096] = b"x" * (size // 4096)
del block
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
block = bytearray(size)
block[::4096] = b"x" * (size // 4096)
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
print(json.dumps({"tuned": tuned, "faults": faults}))
"""


def _probe(mode: str, tmp_path: Path) -> dict[str, int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_TUNABLES"))}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2] / "src")
    out = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, env=env, cwd=tmp_path, check=True
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


@glibc
def test_a_freed_block_is_reused_without_page_faults(tmp_path: Path) -> None:
    pages = (64 << 20) // 4096
    plain = _probe("plain", tmp_path)
    tuned = _probe("tuned", tmp_path)
    assert plain["faults"] > pages // 2  # glibc's default: unmapped on free, faulted in again
    assert tuned["tuned"] == 1
    assert tuned["faults"] < pages // 10


def test_the_users_malloc_settings_are_kept() -> None:
    assert configure_malloc({"MALLOC_MMAP_THRESHOLD_": "65536"}) is False
    assert configure_malloc({"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=0"}) is False
