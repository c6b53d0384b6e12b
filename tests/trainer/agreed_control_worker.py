"""One rank of `test_distributed.py::test_stop_looks_between_steps_are_local_and_agreed_at_the_boundary`.

Run under torchrun with two ranks. The ranks make different numbers of between-step looks for a
Stop (as an eval's decoding steps do, paced by each rank's own clock), rank 1 sees a Stop in one
of them, then both reach a step boundary. Writes what each rank saw to OUT/rank-<r>.json."""

from __future__ import annotations

import json
import os
import sys
from datetime import timedelta
from pathlib import Path

import torch
import torch.distributed as dist

from realm_tui.contract.protocol import Stop
from realm_tui.trainer.distributed import any_rank
from realm_tui.trainer.entry.distributed import AgreedControl, _SignalControl


def main(out: Path) -> None:
    # A short timeout: calls that do not pair up fail here instead of hanging the test.
    dist.init_process_group("gloo", timeout=timedelta(seconds=60))
    rank = dist.get_rank()
    inner = _SignalControl()
    control = AgreedControl(inner)
    looks = 7 if rank == 0 else 2
    for i in range(looks):
        if rank == 1 and i == 1:
            inner.push(Stop())
        control.poll_local(0.0)
    first = control.poll(0.0)  # the boundary: the one collective
    second = control.poll(0.0)  # the next boundary: nothing new
    total = torch.tensor([rank + 10])
    dist.all_reduce(total)  # still paired: 10 + 11
    late_save = any_rank(rank == 0)
    report = {
        "stop_at_first_boundary": any(isinstance(c, Stop) for c in first),
        "stop_at_second_boundary": any(isinstance(c, Stop) for c in second),
        "sum": int(total.item()),
        "any_rank": late_save,
    }
    (out / f"rank-{rank}.json").write_text(json.dumps(report))
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
    os._exit(0)
