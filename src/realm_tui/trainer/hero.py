"""Load a hero (model + tokenizer) from its config: the built-in dio-nano or a Hugging Face model.

Read from the hero dict (`HeroConfig.model_dump()`): `id`; `model.builder: nano` with
`model.nano`, or `model.hf_name` (hub id or local folder); optional `model.attn_implementation`,
`model.dtype`. Read from the memory profile dict (`MemoryProfile.model_dump()`, `TrainJob.memory_profile`):
`method` (full | lora | qlora | galore), `lora` {r, alpha, dropout, target_modules}, `attention`,
`gradient_checkpointing`, `quantization` (see `realm_tui.trainer.peft_setup`). Without a profile:
full training, sdpa.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer
from transformers.utils import logging as hf_logging

from realm_tui.errors import InputError
from realm_tui.paths import RealmPaths
from realm_tui.trainer import nano
from realm_tui.trainer.peft_setup import (
    ADAPTER_METHODS,
    apply_method,
    base_dtype,
    pick_attention,
    quantization_config,
    training_method,
)

__all__ = ["LoadedHero", "ensure_nano_base", "load_hero", "pick_attention", "training_method"]

_DTYPES = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16}


@dataclass
class LoadedHero:
    model: Any
    tokenizer: Any
    info: dict[str, Any] = field(default_factory=dict)
    """source, path, method, attn_implementation, dtype, parameters, trainable_parameters, notes."""

    @property
    def is_adapter(self) -> bool:
        return self.info.get("method") in ADAPTER_METHODS


def ensure_nano_base(hero_id: str, spec: dict[str, Any] | None, realm_root: Path) -> Path:
    """Build dio-nano once into saves/heroes/<id>/base; a temp folder + rename means a crash mid-build
    never leaves a half hero behind."""
    hero_dir = RealmPaths(Path(realm_root)).hero_dir(hero_id)
    base = hero_dir / "base"
    try:
        wanted = nano.NanoSpec.from_dict(spec)
    except ValueError as err:
        raise InputError(None, f"hero {hero_id}: model.nano: {err}") from err
    if base.is_dir():
        built = nano.read_spec(base)
        if built != wanted:
            raise InputError(
                base,
                f"was built with {built} but the hero now asks for {wanted}; "
                "delete this folder to rebuild the hero (its checkpoints will no longer fit)",
            )
        return base
    hero_dir.mkdir(parents=True, exist_ok=True)
    for stale in hero_dir.glob(".tmp-base-*"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = hero_dir / f".tmp-base-{os.getpid()}"
    nano.build_nano_hero(wanted, tmp)
    try:
        os.rename(tmp, base)
    except OSError:
        if not base.is_dir():
            raise
        shutil.rmtree(tmp, ignore_errors=True)  # another process finished first
    return base


def _resolve_source(hf_name: str, realm_root: Path) -> str:
    for candidate in (Path(hf_name).expanduser(), Path(realm_root) / hf_name):
        if candidate.is_dir():
            return str(candidate.resolve())
    return hf_name


def _missing_weights(hero_id: str, hf_name: str, err: Exception) -> InputError:
    hub_id = hf_name if hf_name.count("/") == 1 and not Path(hf_name).exists() else "Qwen/Qwen3-0.6B"
    return InputError(
        None,
        f"hero {hero_id}: cannot load model weights from {hf_name!r} ({type(err).__name__}: {err}). "
        f"Download them on a machine with network access with `huggingface-cli download {hub_id} "
        f"--local-dir saves/heroes/{hero_id}/hf`, then set model.hf_name to that folder.",
    )


def load_hero(
    hero: dict[str, Any],
    realm_root: Path,
    *,
    for_training: bool = True,
    hero_id: str | None = None,
    profile: dict[str, Any] | None = None,
) -> LoadedHero:
    """Build (nano, once) or find the weights, load model + tokenizer, apply the training method."""
    hid = str(hero_id or hero.get("id") or "hero")
    profile = profile or {}
    model_cfg: dict[str, Any] = dict(hero.get("model") or {})
    method = training_method(hero, profile)
    attn, attn_note = pick_attention(model_cfg.get("attn_implementation") or profile.get("attention"))
    notes = [attn_note] if attn_note else []
    dtype: Any = _DTYPES.get(str(model_cfg.get("dtype") or ""), base_dtype(method, for_training))
    quant = quantization_config(profile)
    hf_logging.disable_progress_bar()  # the child's stderr is a log, not a terminal

    if model_cfg.get("builder") == "nano" or (not model_cfg.get("hf_name") and hid == "dio-nano"):
        source = "nano"
        path = str(ensure_nano_base(hid, model_cfg.get("nano"), Path(realm_root)))
    elif model_cfg.get("hf_name"):
        source = "hf"
        path = _resolve_source(str(model_cfg["hf_name"]), Path(realm_root))
    else:
        raise InputError(None, f"hero {hid}: model needs `builder: nano` or `hf_name`")

    extra: dict[str, Any] = {"quantization_config": quant} if quant is not None else {}
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=False)
        model = AutoModelForCausalLM.from_pretrained(
            path,
            trust_remote_code=False,
            use_safetensors=True,
            attn_implementation=attn,
            dtype=dtype,
            **extra,
        )
    except (OSError, ValueError) as err:
        if source == "nano":
            raise InputError(path, f"the built hero cannot be loaded ({err}); delete the folder to rebuild") from err
        raise _missing_weights(hid, path, err) from err
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token

    if for_training:
        # The KV cache is useless in training and, with packed rows, disables per-example masking.
        model.config.use_cache = False
        model.train()
    else:
        model.eval()
    model, method_notes = apply_method(model, method, profile, hero, for_training=for_training)
    notes += method_notes

    info = {
        "source": source,
        "path": path,
        "method": method,
        "attn_implementation": attn,
        "dtype": str(next(model.parameters()).dtype).removeprefix("torch."),
        "parameters": sum(p.numel() for p in model.parameters()),
        "trainable_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "notes": notes,
    }
    return LoadedHero(model, tokenizer, info)
