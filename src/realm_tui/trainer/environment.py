"""What this machine can do for training, found out by importing torch (and bitsandbytes).

The trainer calls `detect_environment()` before it loads weights (`trainer.knob_check`); the
parent, which never imports torch, runs it in a short subprocess (`battle.preflight.probe_environment`).
The answer is armory's pure `Environment`, which `armory.knobs.assess_knobs` judges.
"""

from __future__ import annotations

import importlib.util

from realm_tui.armory.knobs import Environment


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def detect_environment(*, probe_bnb: bool = True) -> Environment:
    """Find out what this machine offers. Imports torch (and bitsandbytes when `probe_bnb` and CUDA)."""
    import torch

    cuda = bool(torch.cuda.is_available())
    bnb_installed = _installed("bitsandbytes")
    bnb_cuda = False
    if cuda and bnb_installed and probe_bnb:
        try:
            from bitsandbytes import cextension

            bnb_cuda = getattr(cextension, "BNB_BACKEND", "") in ("CUDA", "ROCm") or isinstance(
                cextension.lib, getattr(cextension, "CudaBNBNativeLibrary", ())
            )
        except Exception:  # a broken bitsandbytes install is the same as none for our purposes
            bnb_cuda = False
    vram = None
    name = "cpu"
    bf16 = True
    if cuda:
        props = torch.cuda.get_device_properties(0)
        vram = int(props.total_memory)
        name = str(props.name)
        bf16 = bool(torch.cuda.is_bf16_supported())
    return Environment(
        cuda_available=cuda,
        bnb_installed=bnb_installed,
        bnb_cuda=bnb_cuda,
        flash_attn_installed=_installed("flash_attn"),
        galore_installed=_installed("galore_torch"),
        muon_available=hasattr(torch.optim, "Muon"),
        bf16_supported=bf16,
        vram_bytes=vram,
        device_name=name,
    )
