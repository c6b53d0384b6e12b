"""Checkpoint folders: HF weights (or a LoRA adapter), tokenizer, trainer state and a manifest.

Written into `.tmp-…` beside the final folder, fsync'd, re-verified, then renamed: a folder with
the final name is always complete. `trainer_state.pt` holds only tensors and plain values, so it
loads with `weights_only=True` (no pickle code runs on resume).

A sharded model (FSDP 1 or 2: parameters split across ranks) is saved in the same format as a
single process's: whole weights and the whole optimizer state (parameter numbers as keys), gathered
with `torch.distributed.checkpoint.state_dict`; on resume every rank reads them and re-shards them
(`load_sharded`). So a checkpoint resumes under any number of processes, sharded or not.
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from realm_tui.confine import confined
from realm_tui.contract import manifest as mf
from realm_tui.errors import InputError
from realm_tui.trainer.data import DataPosition

STATE_FILE = "trainer_state.pt"
STATE_FORMAT = 1
ADAPTER_WEIGHTS = "adapter_model.safetensors"


def checkpoint_name(step: int, now: datetime | None = None) -> str:
    return f"checkpoint-{step}-{(now or datetime.now()):%Y%m%d-%H%M}"


# ---------------------------------------------------------------- RNG


def capture_rng() -> dict[str, Any]:
    np_state = np.random.get_state()
    return {
        "python": random.getstate(),
        "numpy": [np_state[0], np_state[1].tolist(), *np_state[2:]],  # type: ignore[index]
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def restore_rng(rng: dict[str, Any]) -> None:
    random.setstate(_as_tuple(rng["python"]))
    name, keys, *rest = rng["numpy"]
    np.random.set_state((name, np.array(keys, dtype=np.uint32), *rest))
    torch.set_rng_state(rng["torch"])
    if rng.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])


def _as_tuple(value: Any) -> Any:
    return tuple(_as_tuple(v) for v in value) if isinstance(value, list | tuple) else value


# ---------------------------------------------------------------- saving


def trainer_state(
    *,
    step: int,
    position: DataPosition,
    micro_batch: int,
    examples_per_step: int,
    optimizer: Any,
    scheduler: Any,
    curriculum: dict[str, Any],
    losses: tuple[float | None, float | None],
    optimizer_state: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything beyond the weights that an exact resume needs (tensors and plain values only).

    `optimizer_state`: the optimizer's state gathered from every rank (`gathered_optimizer_state`),
    saved instead of `optimizer.state_dict()` (which under FSDP holds this rank's shards only)."""
    return {
        "format": STATE_FORMAT,
        "step": step,
        "data_position": [position.epoch, position.index],
        "micro_batch": micro_batch,
        "grad_accum": math.ceil(examples_per_step / micro_batch),
        "examples_per_step": examples_per_step,
        "curriculum": curriculum,
        "optimizer": optimizer.state_dict() if optimizer_state is None else optimizer_state,
        "scheduler": scheduler.state_dict(),
        "rng": capture_rng(),
        "train_loss": losses[0],
        "val_loss": losses[1],
    }


def all_finite(model: Any) -> bool:
    if is_sharded(model):  # each rank checks its shards; every rank gets the same answer
        import torch.distributed as dist

        params = [_local(p) for p in model.parameters() if p.requires_grad]
        flag = torch.tensor([1 if all(bool(torch.isfinite(p).all()) for p in params) else 0])
        dist.all_reduce(flag, op=dist.ReduceOp.MIN)
        return bool(flag.item())
    return all(bool(torch.isfinite(p).all()) for p in model.parameters() if p.requires_grad)


def _local(tensor: Any) -> Any:
    from torch.distributed.tensor import DTensor

    return tensor.to_local() if isinstance(tensor, DTensor) else tensor


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())


def save_checkpoint(
    parent: Path,
    step: int,
    model: Any,
    tokenizer: Any,
    state: dict[str, Any],
    meta: dict[str, Any] | None = None,
    *,
    state_dict: dict[str, Any] | None = None,
    stage: Callable[[str], None] = lambda _name: None,
) -> Path:
    """Write one complete checkpoint folder and return its path (never a partial one).

    `state_dict`: the weights to save instead of the model's own (gathered under FSDP/DeepSpeed).
    `stage` is told each write as it begins (the save's progress events)."""
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    name = checkpoint_name(step)
    final = parent / name
    suffix = 1
    while final.exists():  # same step twice in one minute (e.g. after a roll-back)
        suffix += 1
        final = parent / f"{name}-{suffix}"
    tmp = parent / f"{mf.TEMP_PREFIX}{final.name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        extra = {"state_dict": state_dict} if state_dict is not None else {}
        stage("writing weights")
        model.save_pretrained(tmp, safe_serialization=True, **extra)
        tokenizer.save_pretrained(tmp)
        stage("writing optimizer")  # trainer_state.pt: the optimizer's state, most of its bytes
        torch.save(state, tmp / STATE_FILE)
        stage("verifying")
        _fsync_tree(tmp)
        mf.write_manifest(tmp, {"step": step, "name": final.name, **(meta or {})})
        mf.verify_checkpoint(tmp, allow_temp=True)  # re-hash: what we rename is what we wrote
        os.rename(tmp, final)
        mf.fsync_dir(parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def distributed_state_dict(accelerator: Any, model: Any) -> dict[str, Any] | None:
    """The full weights gathered from every rank under FSDP/DeepSpeed (a collective every rank
    must call; rank 0 gets them, the others may get {}); None where the unwrapped model holds them
    already (one process, DDP)."""
    if is_sharded(model):
        from torch.distributed.checkpoint.state_dict import get_model_state_dict

        return dict(get_model_state_dict(model, options=_full_options()))
    kind = str(getattr(accelerator, "distributed_type", "NO"))
    if "FSDP" in kind or "DEEPSPEED" in kind:
        return dict(accelerator.get_state_dict(model))
    return None


# ---------------------------------------------------------------- sharded (FSDP) models


def is_sharded(model: Any) -> bool:
    """True when the model's parameters are split across ranks (FSDP 1, or FSDP 2's DTensors):
    its weights and optimizer state must then be gathered to save and re-sharded to load."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return False
    from torch.distributed.fsdp import FullyShardedDataParallel
    from torch.distributed.tensor import DTensor

    if any(isinstance(p, DTensor) for p in model.parameters()):
        return True
    return bool(FullyShardedDataParallel.fsdp_modules(model))


def _full_options() -> Any:
    """Gather whole tensors onto rank 0's CPU (the other ranks get {})."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions

    return StateDictOptions(full_state_dict=True, cpu_offload=True)


def _inner(optimizer: Any) -> Any:
    return getattr(optimizer, "optimizer", optimizer)  # accelerate's AcceleratedOptimizer wraps torch's


def gathered_optimizer_state(model: Any, optimizer: Any) -> dict[str, Any] | None:
    """The whole optimizer state of a sharded model, as one process would hold it (parameter
    numbers as keys, whole tensors on the CPU): a collective every rank must call; rank 0 gets it,
    the others {}. None when the model is not sharded (`optimizer.state_dict()` is already whole)."""
    if not is_sharded(model):
        return None
    inner = _inner(optimizer)
    if not inner.state:  # no step taken yet (on every rank alike): nothing to gather
        return dict(inner.state_dict())
    from torch.distributed.checkpoint.state_dict import get_optimizer_state_dict

    full = get_optimizer_state_dict(model, inner, options=_full_options())
    return _numbered(full) if full else {}


def _numbered(named: dict[str, Any]) -> dict[str, Any]:
    """Parameter names (torch.distributed.checkpoint's keys) → numbers in optimizer order (torch's)."""
    order = [name for group in named["param_groups"] for name in group["params"]]
    number = {name: i for i, name in enumerate(order)}
    state = {number[name]: value for name, value in named["state"].items()}
    groups = [{**group, "params": [number[n] for n in group["params"]]} for group in named["param_groups"]]
    return {"state": dict(sorted(state.items())), "param_groups": groups}


def _named(numbered: dict[str, Any], names: list[list[str]], folder: Path | None) -> dict[str, Any]:
    """The inverse of `_numbered`: `names` holds this optimizer's parameter names, group by group."""
    saved = [[int(i) for i in group["params"]] for group in numbered["param_groups"]]
    if [len(g) for g in saved] != [len(g) for g in names]:
        shapes = f"{[len(g) for g in saved]} parameters per group saved, {[len(g) for g in names]} here"
        raise InputError(folder, f"optimizer state does not fit this hero ({shapes})")
    name = {i: n for ids, group in zip(saved, names, strict=True) for i, n in zip(ids, group, strict=True)}
    state = {name[int(i)]: value for i, value in numbered["state"].items()}
    groups = [{**group, "params": list(ns)} for group, ns in zip(numbered["param_groups"], names, strict=True)]
    return {"state": state, "param_groups": groups}


def load_sharded(model: Any, optimizer: Any, folder: Path, state: dict[str, Any]) -> None:
    """Resume a sharded model: every rank reads the whole weights and optimizer state of `folder`
    (its trainer `state` already loaded) and keeps its own shards (collectives: every rank calls)."""
    from torch.distributed.checkpoint.state_dict import (
        StateDictOptions,
        get_model_state_dict,
        get_optimizer_state_dict,
        set_model_state_dict,
        set_optimizer_state_dict,
    )

    folder = Path(folder)
    if hasattr(model, "peft_config"):
        load_weights_into(model, folder, verified=True)  # adapters under FSDP: not tested here (see docs/scaling.md)
    else:
        tensors: dict[str, Any] = dict(_read_weights(folder, adapter=False))
        expected = set(get_model_state_dict(model))  # this rank's shards: only the names are used
        _check_fit(model, folder, sorted(expected - set(tensors)), sorted(set(tensors) - expected))
        set_model_state_dict(model, tensors, options=StateDictOptions(full_state_dict=True, strict=False))
    inner, saved = _inner(optimizer), state["optimizer"]
    if not saved["state"]:  # saved before any step: hyperparameters only, nothing to shard
        inner.load_state_dict(saved)
        return
    # This optimizer's parameter names, group by group (local shards: no gathering).
    local: dict[str, Any] = dict(get_optimizer_state_dict(model, inner))
    names = [[str(name) for name in group["params"]] for group in local["param_groups"]]
    whole = StateDictOptions(full_state_dict=True)  # every rank holds it all and keeps its shards
    set_optimizer_state_dict(model, inner, _named(saved, names, folder), options=whole)
    # The hyperparameters as saved (the round trip above turns Adam's `betas` tuple into a list).
    for group, saved_group in zip(inner.param_groups, saved["param_groups"], strict=True):
        group.update({k: v for k, v in saved_group.items() if k != "params"})


# ---------------------------------------------------------------- loading


def load_checkpoint(folder: Path) -> dict[str, Any]:
    """The trainer state of a verified checkpoint; refuses folders without a valid manifest."""
    folder = Path(folder)
    mf.verify_checkpoint(folder)
    try:
        state: dict[str, Any] = torch.load(folder / STATE_FILE, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for a bad pickle; all mean "unusable"
        raise InputError(folder, f"checkpoint trainer state cannot be read ({err})") from err
    return state


INDEX_FILE = "model.safetensors.index.json"


def _weight_files(folder: Path, adapter: bool) -> list[Path]:
    """The weight files to read: only files the manifest lists (verified by the caller); an index
    is followed only when listed, and only to listed shards inside the folder."""
    listed = set(mf.read_manifest(folder)["files"])
    names = [ADAPTER_WEIGHTS] if adapter else ["model.safetensors"]
    if not adapter and INDEX_FILE in listed:
        try:
            weight_map = json.loads((folder / INDEX_FILE).read_text(encoding="utf-8"))["weight_map"]
            names = sorted(set(weight_map.values()))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
            raise InputError(folder, f"{INDEX_FILE} cannot be read ({err})") from err
    paths = []
    for name in names:
        path = confined(folder, str(name), source=folder / INDEX_FILE, what="weight file")
        if str(name) not in listed:
            raise InputError(folder, f"checkpoint is damaged: weight file {name} is not in manifest.json")
        paths.append(path)
    return paths


def _read_weights(folder: Path, adapter: bool) -> dict[str, torch.Tensor]:
    tensors: dict[str, torch.Tensor] = {}
    try:
        for path in _weight_files(folder, adapter):
            tensors.update(load_file(str(path)))
    except (OSError, SafetensorError, ValueError) as err:
        raise InputError(folder, f"checkpoint weights cannot be read ({err})") from err
    return tensors


def load_weights_into(model: Any, folder: Path, *, verified: bool = False) -> None:
    """Copy checkpoint weights into an already-built model in place (optimizer references stay).

    The checkpoint is verified first (manifest, hashes, no planted files) unless the caller just
    did (`verified=True`)."""
    folder = Path(folder)
    if not verified:
        mf.verify_checkpoint(folder)
    adapter = hasattr(model, "peft_config")
    tensors = _read_weights(folder, adapter)
    if adapter:
        from peft import set_peft_model_state_dict

        result = set_peft_model_state_dict(model, tensors)
        unexpected = list(getattr(result, "unexpected_keys", []))
        if unexpected:
            raise InputError(folder, f"adapter does not fit this hero (unexpected {unexpected[:3]})")
        return
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    _check_fit(model, folder, missing, unexpected)


def _check_fit(model: Any, folder: Path, missing: list[str], unexpected: list[str]) -> None:
    # With tied embeddings save_pretrained drops lm_head.weight: it is the embedding, loaded above.
    config = getattr(model, "config", None) or getattr(getattr(model, "module", None), "config", None)
    tied = bool(getattr(config, "tie_word_embeddings", False))
    really_missing = [k for k in missing if not (tied and k == "lm_head.weight")]
    if unexpected or really_missing:
        raise InputError(
            folder, f"weights do not fit this hero (missing {really_missing[:3]}, unexpected {unexpected[:3]})"
        )
