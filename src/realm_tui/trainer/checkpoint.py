"""Checkpoint folders: HF weights (or a LoRA adapter), tokenizer, trainer state and a manifest.

Written into `.tmp-…` beside the final folder, fsync'd, re-verified, then renamed: a folder with
the final name is always complete. `trainer_state.pt` holds only tensors and plain values, so it
loads with `weights_only=True` (no pickle code runs on resume).
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from realm_tui.errors import InputError
from realm_tui.trainer import manifest as mf
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
) -> dict[str, Any]:
    """Everything beyond the weights that an exact resume needs (tensors and plain values only)."""
    return {
        "format": STATE_FORMAT,
        "step": step,
        "data_position": [position.epoch, position.index],
        "micro_batch": micro_batch,
        "grad_accum": math.ceil(examples_per_step / micro_batch),
        "examples_per_step": examples_per_step,
        "curriculum": curriculum,
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "rng": capture_rng(),
        "train_loss": losses[0],
        "val_loss": losses[1],
    }


def all_finite(model: Any) -> bool:
    return all(bool(torch.isfinite(p).all()) for p in model.parameters() if p.requires_grad)


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
) -> Path:
    """Write one complete checkpoint folder and return its path (never a partial one).

    `state_dict`: the weights to save instead of the model's own (gathered under FSDP/DeepSpeed)."""
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
        model.save_pretrained(tmp, safe_serialization=True, **extra)
        tokenizer.save_pretrained(tmp)
        torch.save(state, tmp / STATE_FILE)
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
    must call); None where the unwrapped model holds them already (one process, DDP)."""
    kind = str(getattr(accelerator, "distributed_type", "NO"))
    if "FSDP" in kind or "DEEPSPEED" in kind:
        return dict(accelerator.get_state_dict(model))
    return None


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


def _weight_files(folder: Path, adapter: bool) -> list[Path]:
    if adapter:
        return [folder / ADAPTER_WEIGHTS]
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        return [folder / s for s in shards]
    return [folder / "model.safetensors"]


def load_weights_into(model: Any, folder: Path) -> None:
    """Copy checkpoint weights into an already-built model in place (optimizer references stay)."""
    folder = Path(folder)
    adapter = hasattr(model, "peft_config")
    tensors: dict[str, torch.Tensor] = {}
    try:
        for path in _weight_files(folder, adapter):
            tensors.update(load_file(str(path)))
    except (OSError, SafetensorError, ValueError) as err:
        raise InputError(folder, f"checkpoint weights cannot be read ({err})") from err
    if adapter:
        from peft import set_peft_model_state_dict

        result = set_peft_model_state_dict(model, tensors)
        unexpected = list(getattr(result, "unexpected_keys", []))
        if unexpected:
            raise InputError(folder, f"adapter does not fit this hero (unexpected {unexpected[:3]})")
        return
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    # With tied embeddings save_pretrained drops lm_head.weight: it is the embedding, loaded above.
    tied = bool(getattr(model.config, "tie_word_embeddings", False))
    really_missing = [k for k in missing if not (tied and k == "lm_head.weight")]
    if unexpected or really_missing:
        raise InputError(
            folder, f"weights do not fit this hero (missing {really_missing[:3]}, unexpected {unexpected[:3]})"
        )
