"""One rank of the FSDP resume check (run by tests/trainer/test_fsdp_resume.py under torchrun, gloo, CPU).

Accelerate only applies its FSDP plugin to GPU backends (on CPU it falls back to DDP), so this
worker shards the tiny hero itself with torch's FSDP 2 `fully_shard` (what accelerate's FSDP 2
plugin calls) and drives the trainer's own checkpoint code: `save_on_main`,
`ck.distributed_state_dict`, `ck.gathered_optimizer_state`, `ck.save_checkpoint`,
`ck.load_checkpoint`, `ck.load_sharded`. `_AcceleratorStandIn` is a fake of the few
`Accelerator` attributes `save_on_main` reads (named as such: accelerate cannot run FSDP here).

    python -m torch.distributed.run --standalone --nproc_per_node 2 fsdp_resume_worker.py OUT_DIR
"""

from __future__ import annotations

import copy
import json
import os
import random
import sys
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch.distributed.fsdp import fully_shard
from torch.optim.lr_scheduler import LambdaLR

from realm_tui.trainer import checkpoint as ck
from realm_tui.trainer.data import DataPosition, Example, make_batch
from realm_tui.trainer.distributed import save_on_main
from realm_tui.trainer.nano import NanoSpec, build_model, build_tokenizer
from realm_tui.trainer.optimizers import build_optimizer
from realm_tui.trainer.runtime import loss_sum, lr_lambda

SPEC = NanoSpec(hidden_size=64, num_layers=2, num_heads=2, num_kv_heads=1, head_dim=32, intermediate_size=128, seed=7)
STEPS, SAVE_AT, PER_RANK = 4, 2, 4
LR, WARMUP = 3e-3, 1


class _AcceleratorStandIn:
    """Fake of `accelerate.Accelerator` for `save_on_main` (rank, world, unwrap)."""

    distributed_type = "FSDP"

    def __init__(self) -> None:
        self.process_index, self.num_processes = dist.get_rank(), dist.get_world_size()

    @staticmethod
    def unwrap_model(model: Any) -> Any:
        return model


def _examples(step: int, vocab: int) -> list[Example]:
    """This rank's share of the global draw for `step` (the same draw on every rank)."""
    rng = random.Random(1000 + step)
    world, rank = dist.get_world_size(), dist.get_rank()
    drawn = []
    for _ in range(PER_RANK * world):
        ids = tuple(rng.randrange(3, vocab) for _ in range(rng.randint(6, 14)))
        drawn.append(Example(input_ids=ids, labels=ids))
    return drawn[rank::world]


def _hero(tokenizer: Any) -> tuple[Any, Any, Any]:
    model = build_model(SPEC, tokenizer)
    for layer in model.model.layers:
        fully_shard(layer)
    fully_shard(model)
    optimizer = build_optimizer("adamw", model, LR, 0.1, fused=True)
    scheduler = LambdaLR(optimizer, lr_lambda(WARMUP, STEPS, "cosine"))
    return model, optimizer, scheduler


def _step(model: Any, optimizer: Any, scheduler: Any, step: int, pad_id: int, vocab: int) -> float:
    examples = _examples(step, vocab)
    batch = make_batch(examples, packing=False, max_length=64, pad_id=pad_id)
    summed = loss_sum(model, batch)
    n_labels = torch.tensor([float(sum(e.n_labels for e in examples))])
    dist.all_reduce(n_labels)  # token-weighted mean over the global batch (FSDP averages gradients)
    (summed / n_labels * dist.get_world_size()).backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    loss = torch.tensor([float(summed.detach())])
    dist.all_reduce(loss)
    return float(loss) / float(n_labels)


def _full_weights(model: Any) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in (ck.distributed_state_dict(None, model) or {}).items()}


def _same_state(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Bitwise comparison of two whole optimizer states (parameter numbers as keys)."""
    diffs = []
    for i in sorted(a["state"]):
        for key in ("step", "exp_avg", "exp_avg_sq"):
            if not torch.equal(a["state"][i][key], b["state"][i][key]):
                diffs.append(f"{i}.{key}")
    groups = [
        f"{i}.{k}: {g.get(k)!r} != {h.get(k)!r}"
        for i, (g, h) in enumerate(zip(a["param_groups"], b["param_groups"], strict=True))
        for k in sorted(set(g) | set(h))
        if g.get(k) != h.get(k)
    ]
    return {"tensor_diffs": diffs, "group_diffs": groups, "n_params": len(a["state"])}


def main(out: Path) -> None:
    dist.init_process_group("gloo")
    torch.set_num_threads(1)
    rank = dist.get_rank()
    tokenizer = build_tokenizer(SPEC.vocab)
    vocab, pad_id = len(tokenizer), int(tokenizer.pad_token_id)
    report: dict[str, Any] = {"rank": rank}

    # Straight run: STEPS steps, a checkpoint after SAVE_AT.
    model, optimizer, scheduler = _hero(tokenizer)
    report["sharded"] = ck.is_sharded(model)
    report["local_numel"] = sum(p.to_local().numel() for p in model.parameters())
    report["full_numel"] = sum(p.numel() for p in model.parameters())
    straight = []
    saved_state: dict[str, Any] = {}
    folder = None
    for step in range(1, STEPS + 1):
        straight.append(_step(model, optimizer, scheduler, step, pad_id, vocab))
        if step == SAVE_AT:
            gathered = ck.gathered_optimizer_state(model, optimizer)
            state = ck.trainer_state(
                step=step,
                position=DataPosition(0, step),
                micro_batch=PER_RANK,
                examples_per_step=PER_RANK,
                optimizer=optimizer,
                scheduler=scheduler,
                curriculum={},
                losses=(straight[-1], None),
                optimizer_state=gathered,
            )
            saved_state = copy.deepcopy(gathered or {})  # Adam's `step` tensors are live: they move on
            report["gathered_on_this_rank"] = bool(gathered)
            folder = save_on_main(
                _AcceleratorStandIn(),
                model,
                lambda m, sd, state=state, step=step: ck.save_checkpoint(
                    out / "ckpt", step, m, tokenizer, state, state_dict=sd
                ),
            )
    straight_weights = _full_weights(model)
    assert folder is not None
    report["checkpoint"] = str(folder)

    # Resumed run: a fresh sharded hero, every rank reads the checkpoint and keeps its shards.
    model, optimizer, scheduler = _hero(tokenizer)
    state = ck.load_checkpoint(folder)
    ck.load_sharded(model, optimizer, folder, state)
    scheduler.load_state_dict(state["scheduler"])
    resumed_state = ck.gathered_optimizer_state(model, optimizer)
    if rank == 0:
        on_disk = state["optimizer"]
        report["disk_vs_gathered"] = _same_state(on_disk, saved_state)
        report["resumed_vs_saved"] = _same_state(resumed_state or {}, saved_state)
        report["state_keys_are_numbers"] = all(isinstance(k, int) for k in on_disk["state"])
        # The same file resumes one unsharded process: torch's own format, same parameter numbering.
        plain = build_optimizer("adamw", build_model(SPEC, tokenizer), LR, 0.1, fused=True)
        plain.load_state_dict(on_disk)
        report["plain_groups_match"] = [sorted(g) for g in plain.state_dict()["param_groups"]] == [
            sorted(g) for g in on_disk["param_groups"]
        ]
    resumed = [_step(model, optimizer, scheduler, step, pad_id, vocab) for step in range(SAVE_AT + 1, STEPS + 1)]
    resumed_weights = _full_weights(model)
    report["all_finite"] = ck.all_finite(model)  # each rank checks its shards, all ranks agree
    with torch.no_grad():
        if rank == 1:  # one bad value on one rank's shard is seen by every rank
            next(p for p in model.parameters() if p.to_local().numel()).to_local().view(-1)[0] = float("nan")
    report["all_finite_after_nan_on_rank_1"] = ck.all_finite(model)
    report["straight_losses"], report["resumed_losses"] = straight, resumed
    if rank == 0:
        report["max_weight_diff"] = max(
            float((straight_weights[k] - resumed_weights[k]).abs().max()) for k in straight_weights
        )
        report["weights_compared"] = len(straight_weights)
    (out / f"rank-{rank}.json").write_text(json.dumps(report, indent=1))
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main(Path(sys.argv[1]))
