"""One battle on many processes: `python -m realm_tui.trainer.entry.distributed --job JOB.json`.

Launch it under `accelerate launch` (GPUs: DDP, FSDP or DeepSpeed from `configs/accelerate/*.yaml`)
or `torchrun` (any machine; CPUs use the gloo backend):

    accelerate launch --config_file configs/accelerate/ddp.yaml -m realm_tui.trainer.entry.distributed --job job.json
    torchrun --nproc_per_node 2 -m realm_tui.trainer.entry.distributed --job job.json      # CPU: gloo

The job is a `TrainJob` as JSON (`realm train --no-ui --write-job FILE` plans one without
training; `realm_tui.contract.job_json`). Every rank runs the same `run_battle`:

* **data**: each optimizer step draws `batch_size × grad_accum × world_size` examples from the
  shared, seeded stream and rank r trains on examples r, r + world, r + 2·world, …; `batch_size`
  is per device (as in Hugging Face's Trainer), so the global batch grows with the world;
* **checkpoints**: only rank 0 writes them (the others wait, then learn the folder's name). Under
  FSDP the whole weights and optimizer state are gathered first (`torch.distributed.checkpoint.state_dict`),
  so the checkpoint is the one a single process would write; on resume every rank re-shards it;
* **events**: rank 0 writes them as JSON lines (`--events FILE`, default stdout) — the battle log
  a parent (or `jq`) reads; other ranks print only their errors to stderr. The store is never
  touched here: the parent (`realm`) stays its only writer;
* **stopping**: SIGINT/SIGTERM on any rank stops every rank at the same step boundary (a tiny
  all-reduce per step), after a checkpoint.

`--rank-report DIR` makes each rank write `rank-<r>.json` (what it trained on, what it wrote):
the proof, in tests, that ranks saw different shards and only rank 0 saved.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from realm_tui.contract.job_json import job_from_json
from realm_tui.contract.protocol import GOOD_ENDINGS, Command, Error, Event, Stop, StopReason
from realm_tui.trainer import distributed as shared


class AgreedControl:
    """Wraps a control so that a Stop seen by any rank stops every rank at the same boundary.

    Only `poll(0.0)` at a step boundary is a collective: every rank reaches each boundary once, so
    the calls pair up. Looks for a Stop in between (`poll_local`, e.g. before each decoding step of
    an eval) are local: how many a rank makes depends on its own clock, and a collective there made
    the ranks' calls pair with different collectives (a hang under load). A Stop seen locally is
    remembered and counted at the next boundary."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self._stop_seen = False

    def poll_local(self, timeout: float = 0.0) -> list[Command]:
        commands: list[Command] = list(self.inner.poll(timeout))
        self._stop_seen |= any(isinstance(c, Stop) for c in commands)
        return commands

    def poll(self, timeout: float = 0.0) -> list[Command]:
        commands = self.poll_local(timeout)
        if timeout > 0:  # waits (paused, disk full) are not step boundaries: no collective here
            return commands
        seen, self._stop_seen = self._stop_seen, False
        if shared.any_rank(seen) and not any(isinstance(c, Stop) for c in commands):
            commands.append(Stop(reason=StopReason.SIGNAL))
        return commands


class _SignalControl:
    def __init__(self) -> None:
        self.pending: list[Command] = []

    def push(self, command: Command) -> None:
        self.pending.append(command)

    def poll(self, timeout: float = 0.0) -> list[Command]:
        out, self.pending = self.pending, []
        return out


class _Emitter:
    def __init__(self, rank: int, events_path: Path | None) -> None:
        self.rank = rank
        self.out = open(events_path, "a", encoding="utf-8") if events_path and rank == 0 else None  # noqa: SIM115

    def __call__(self, event: Event) -> None:
        from realm_tui.contract.event_json import event_to_json

        if self.rank == 0:
            stream = self.out or sys.stdout
            stream.write(event_to_json(event) + "\n")
            stream.flush()
        elif isinstance(event, Error):
            sys.stderr.write(f"[rank {self.rank}] {event.kind}: {event.message}\n")
            sys.stderr.flush()

    def close(self) -> None:
        if self.out is not None:
            self.out.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m realm_tui.trainer.entry.distributed", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--job", required=True, type=Path, help="TrainJob as JSON")
    parser.add_argument("--events", type=Path, default=None, help="rank 0's events as JSON lines (default stdout)")
    parser.add_argument("--rank-report", type=Path, default=None, help="folder for rank-<r>.json reports")
    args = parser.parse_args(argv)
    job = job_from_json(args.job.read_text(encoding="utf-8"))
    rank = int(os.environ.get("RANK", "0"))
    shared.record(args.rank_report is not None)

    control = _SignalControl()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        control.push(Stop(reason=StopReason.SIGNAL))

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    emit = _Emitter(rank, args.events)
    from realm_tui.trainer.loop import run_battle

    try:
        stopped = run_battle(job, emit, AgreedControl(control))
    finally:
        emit.close()
    alive = _leave_group()
    if args.rank_report is not None:
        args.rank_report.mkdir(parents=True, exist_ok=True)
        world = int(os.environ.get("WORLD_SIZE", "1"))
        report = {"rank": rank, "world": world, "steps": shared.SHARD_LOG, "wrote_checkpoints": shared.WRITTEN}
        report["weights_at_saves"] = shared.WEIGHTS
        report |= {"stopped": stopped.reason, "step": stopped.step, "ddp_alive_at_teardown": alive}
        (args.rank_report / f"rank-{rank}.json").write_text(json.dumps(report, indent=1))
    return 0 if stopped.reason in GOOD_ENDINGS else 1


def _leave_group() -> int:
    """Free the battle, then tear the process group down while the interpreter is whole.

    The finished battle sits in a reference cycle, and with it the DDP module whose reducer holds
    the gloo group (and its last collectives' work). Left to the garbage collector, it may be freed
    during interpreter shutdown, after `destroy_process_group`, where gloo's worker threads meet a
    half torn-down interpreter: a rare "terminate called without an active exception" (SIGABRT)
    under load. Returns how many DDP modules were still alive at teardown (0: the rank report)."""
    import gc

    import torch.distributed as dist

    gc.collect()
    if not (dist.is_available() and dist.is_initialized()):
        return 0
    from torch.nn.parallel import DistributedDataParallel

    alive = sum(isinstance(o, DistributedDataParallel) for o in gc.get_objects())
    # No rank tears the group down while another is still in a collective; a rank already gone
    # fails the barrier, and the group is still left. A teardown error has nothing useful to say.
    with contextlib.suppress(Exception):
        dist.barrier()
    with contextlib.suppress(Exception):
        dist.destroy_process_group()
    return alive


if __name__ == "__main__":
    sys.exit(main())
