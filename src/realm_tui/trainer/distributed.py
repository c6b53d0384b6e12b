"""One battle on many processes: `python -m realm_tui.trainer.distributed --job JOB.json`.

Launch it under `accelerate launch` (GPUs: DDP, FSDP or DeepSpeed from `configs/accelerate/*.yaml`)
or `torchrun` (any machine; CPUs use the gloo backend):

    accelerate launch --config_file configs/accelerate/ddp.yaml -m realm_tui.trainer.distributed --job job.json
    torchrun --nproc_per_node 2 -m realm_tui.trainer.distributed --job job.json      # CPU: gloo

The job is a `TrainJob` as JSON (`realm train --no-ui --write-job FILE` plans one without
training; `job_to_json` / `job_from_json` here). Every rank runs the same `run_battle`:

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
import dataclasses
import hashlib
import importlib
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from realm_tui.contract.protocol import GOOD_ENDINGS, Command, Error, Event, Stop, StopReason, TrainJob

SHARD_LOG: list[dict[str, Any]] = []
"""Per step on this rank: how many examples it trained on and a digest of their token ids."""
WRITTEN: list[str] = []
"""Checkpoint folders this process wrote."""
WEIGHTS: list[str] = []
"""A digest of this rank's weights at each save: equal on every rank when gradients are synchronised."""
_RECORD = False


def record(on: bool) -> None:
    """Keep `SHARD_LOG`, `WRITTEN` and `WEIGHTS` for a rank report (`--rank-report`)."""
    global _RECORD
    _RECORD = on


# ---------------------------------------------------------------- the job as JSON


def job_to_json(job: TrainJob) -> str:
    return json.dumps(dataclasses.asdict(job), ensure_ascii=False, indent=1)


def job_from_json(text: str) -> TrainJob:
    data = json.loads(text)
    known = {f.name for f in dataclasses.fields(TrainJob)}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"unknown TrainJob field(s): {', '.join(sorted(unknown))}")
    data["quest_paths"] = tuple(data.get("quest_paths") or ())
    return TrainJob(**data)


# ---------------------------------------------------------------- used by the loop


def world_of(accelerator: Any) -> tuple[int, int]:
    """(rank, world size) of this process."""
    return int(accelerator.process_index), int(accelerator.num_processes)


def shard_examples(examples: Sequence[Any], accelerator: Any) -> list[Any]:
    """This rank's share of one step's global draw: examples rank, rank + world, ..."""
    rank, world = world_of(accelerator)
    mine = list(examples[rank::world]) if world > 1 else list(examples)
    if _RECORD:
        digest = hashlib.sha256(repr([e.input_ids for e in mine]).encode()).hexdigest()[:16]
        SHARD_LOG.append({"examples": len(mine), "digest": digest})
    return mine


def save_on_main(accelerator: Any, model: Any, save: Any) -> Path:
    """Run `save(unwrapped_model, state_dict_or_None)` on rank 0 only; every rank gets its path.

    Under FSDP/DeepSpeed the full state dict is gathered first (a collective every rank joins)."""
    from realm_tui.trainer.checkpoint import distributed_state_dict

    rank, world = world_of(accelerator)
    state_dict = distributed_state_dict(accelerator, model)
    if _RECORD:
        WEIGHTS.append(_weights_digest(accelerator.unwrap_model(model)))
    if world == 1:
        path = Path(save(accelerator.unwrap_model(model), state_dict))
        if _RECORD:
            WRITTEN.append(str(path))
        return path
    from torch.distributed import broadcast_object_list

    result: list[Any] = [None, None]
    if rank == 0:
        try:
            result[0] = str(save(accelerator.unwrap_model(model), state_dict))
        except OSError as err:
            result[1] = (err.errno, str(err))
    broadcast_object_list(result, src=0)
    if result[1] is not None:
        raise OSError(result[1][0], result[1][1])
    if rank == 0 and _RECORD:
        WRITTEN.append(result[0])
    return Path(result[0])


def _weights_digest(model: Any) -> str:
    from torch.distributed.tensor import DTensor

    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        if isinstance(tensor, DTensor):  # FSDP 2 shard: digest the whole tensor (a collective)
            tensor = tensor.full_tensor()
        h.update(name.encode())
        h.update(tensor.detach().float().cpu().numpy().tobytes())
    return h.hexdigest()[:16]


class AgreedControl:
    """Wraps a control so that a Stop seen by any rank stops every rank at the same boundary."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def poll(self, timeout: float = 0.0) -> list[Command]:
        commands: list[Command] = list(self.inner.poll(timeout))
        if timeout > 0:  # waits (paused, disk full) are not step boundaries: no collective here
            return commands
        import torch
        import torch.distributed as dist

        if not (dist.is_available() and dist.is_initialized()):
            return commands
        flag = torch.tensor([1 if any(isinstance(c, Stop) for c in commands) else 0])
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        if int(flag) and not any(isinstance(c, Stop) for c in commands):
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
    # Run as `python -m`, this file is `__main__`; the loop imports it by name: share that module's state.
    shared = importlib.import_module("realm_tui.trainer.distributed")
    parser = argparse.ArgumentParser(prog="python -m realm_tui.trainer.distributed", description=__doc__.split("\n")[0])
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
    if args.rank_report is not None:
        args.rank_report.mkdir(parents=True, exist_ok=True)
        world = int(os.environ.get("WORLD_SIZE", "1"))
        report = {"rank": rank, "world": world, "steps": shared.SHARD_LOG, "wrote_checkpoints": shared.WRITTEN}
        report["weights_at_saves"] = shared.WEIGHTS
        report |= {"stopped": stopped.reason, "step": stopped.step}
        (args.rank_report / f"rank-{rank}.json").write_text(json.dumps(report, indent=1))
    try:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist.barrier()  # no rank tears the group down while another is still in a collective
            dist.destroy_process_group()
    except Exception:  # shutting down: nothing useful to do with a teardown error
        pass
    return 0 if stopped.reason in GOOD_ENDINGS else 1


if __name__ == "__main__":
    sys.exit(main())
