"""One battle on many processes, inside the loop: this rank's shard of each step, and checkpoints
written by rank 0 only. The entry point that runs a battle under a launcher is
`realm_tui.trainer.entry.distributed` (`python -m realm_tui.trainer.entry.distributed --job FILE`).

`record(True)` keeps what this rank trained on and wrote (`SHARD_LOG`, `WRITTEN`, `WEIGHTS`), for
the entry's `--rank-report`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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


def world_of(accelerator: Any) -> tuple[int, int]:
    """(rank, world size) of this process."""
    return int(accelerator.process_index), int(accelerator.num_processes)


def any_rank(flag: bool) -> bool:
    """Whether `flag` holds on any rank (a one-number all-reduce; every rank must call it at the
    same point). One process, or no process group: `flag` itself."""
    import torch
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return flag
    # NCCL reduces only GPU tensors; gloo only CPU ones.
    device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else "cpu"
    value = torch.tensor([1 if flag else 0], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(int(value.item()))


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
