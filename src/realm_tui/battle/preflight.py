"""Before a battle: refuse every knob combination that cannot work, with one message per problem.

Parent side, torch-free. `assess_knobs` (realm_tui.armory.knobs) is pure; what the machine can do
(CUDA, bitsandbytes' CUDA library, flash-attn, the GPU's memory) is probed once per process by
running the trainer's `detect_environment()` (`realm_tui.trainer.environment`) in a short
subprocess, so the parent never imports torch nor trainer/. The
probe only runs when a knob depends on the machine (quantization, flash attention, a
bitsandbytes/GaLore/Muon optimizer, bf16, a GPU profile); `cpu_tiny` with AdamW needs none.
The trainer child re-checks with the real environment before it loads any weights
(`realm_tui.trainer.knob_check`).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING, Any

from realm_tui.armory.knobs import BNB_OPTIMIZERS, GALORE_OPTIMIZERS, Environment, assess_knobs, knob_message
from realm_tui.errors import InputError

if TYPE_CHECKING:
    from realm_tui.config.hero import HeroConfig
    from realm_tui.config.memory_profile import MemoryProfile

PROBE_TIMEOUT_S = 120.0
_PROBE = (
    "import dataclasses, json\n"
    "from realm_tui.trainer.environment import detect_environment\n"
    "print('REALM-ENV ' + json.dumps(dataclasses.asdict(detect_environment())))\n"
)
OPTIMISTIC = Environment(
    cuda_available=True,
    bnb_installed=True,
    bnb_cuda=True,
    flash_attn_installed=True,
    galore_installed=True,
    muon_available=True,
    bf16_supported=True,
    vram_bytes=None,
    device_name="not probed",
)
"""Stands in when no knob depends on the machine: only machine-independent problems remain."""


def needs_probe(profile: MemoryProfile, optimizer: str, precision: str) -> bool:
    """Whether any knob's verdict depends on this machine."""
    return (
        profile.quantization.mode != "none"
        or profile.attention == "flash_attention_2"
        or optimizer in BNB_OPTIMIZERS
        or optimizer in GALORE_OPTIMIZERS
        or optimizer in ("muon", "adamw_torch_fused")
        or precision == "bf16"
        or not profile.is_cpu
    )


@functools.cache
def probe_environment() -> Environment | None:
    """`detect_environment()` run in a subprocess (cached for this process); None if the probe fails
    (the trainer child then re-checks on its own)."""
    env = dict(os.environ)
    env.setdefault("HF_HUB_OFFLINE", "1")
    try:
        out = subprocess.run(
            [sys.executable, "-c", _PROBE],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            env=env,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in out.stdout.splitlines():
        if line.startswith("REALM-ENV "):
            data: dict[str, Any] = json.loads(line.removeprefix("REALM-ENV "))
            known = {f.name for f in dataclasses.fields(Environment)}
            return Environment(**{k: v for k, v in data.items() if k in known})
    return None


def environment_here() -> Environment:
    """`probe_environment()`, or one `InputError` when the probe could not run (`realm armory check`)."""
    env = probe_environment()
    if env is None:
        raise InputError(
            None,
            "could not find out what this machine offers (the probe of torch, CUDA and bitsandbytes "
            f"failed or took over {PROBE_TIMEOUT_S:.0f} s): run `realm doctor`",
        )
    return env


def check_battle_knobs(
    hero: HeroConfig,
    profile: MemoryProfile,
    *,
    batch_size: int | None = None,
    grad_accum: int | None = None,
    seq_len: int | None = None,
    optimizer: str | None = None,
    precision: str | None = None,
    environment: Environment | None = None,
) -> list[str]:
    """Raise `InputError` when the battle cannot work here; return the notes (fall-backs) otherwise."""
    td = hero.training_defaults
    opt = optimizer or td.optimizer
    prec = precision or td.precision
    env = environment
    if env is None:
        env = probe_environment() if needs_probe(profile, opt, prec) else None
    report = assess_knobs(
        hero,
        profile,
        batch_size=batch_size,
        grad_accum=grad_accum,
        seq_len=seq_len,
        optimizer=opt,
        precision=prec,
        **(env or OPTIMISTIC).as_kwargs(),  # type: ignore[arg-type]
    )
    if report.problems:
        raise InputError(None, knob_message(hero.id, report.problems))
    return list(report.notes) if env is not None else []
