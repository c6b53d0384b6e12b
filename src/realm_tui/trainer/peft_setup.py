"""Training methods on a loaded model: full, LoRA, QLoRA (4-bit base + LoRA), GaLore; checkpointing.

Read from the memory profile dict (`TrainJob.memory_profile`, a `MemoryProfile` dump):

* `method`: `full` and `galore` train every weight (GaLore is the full method with a GaLore
  optimizer, see `realm_tui.trainer.optimizers`); `lora` adds PEFT adapters to a frozen base;
  `qlora` loads the base in 4-bit NF4 through bitsandbytes (`BitsAndBytesConfig`), runs peft's
  `prepare_model_for_kbit_training`, then adds adapters. `lora` on an 8-bit base
  (`quantization.mode: 8bit`) works the same way with LLM.int8 weights.
* `lora`: `r`, `alpha`, `dropout`, `target_modules` (`["all-linear"]`: every linear but the head).
* `gradient_checkpointing`: `gradient_checkpointing_enable(use_reentrant=False)` (transformers 5:
  `activation_checkpointing_enable`).
* `attention`: `flash_attention_2` only on CUDA with flash-attn installed, else `sdpa`.

Each choice that differs from what was asked is returned as a note for the battle log.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from typing import Any

import torch

from realm_tui.armory.knobs import GALORE_OPTIMIZERS
from realm_tui.errors import InputError

METHODS = ("full", "lora", "qlora", "galore")
ADAPTER_METHODS = ("lora", "qlora")
_COMPUTE_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}


def training_method(hero: Mapping[str, Any], profile: Mapping[str, Any] | None) -> str:
    """The profile's method (else the hero's, else `full`), checked against its quantization."""
    profile = profile or {}
    method = str(profile.get("method") or hero.get("method") or "full")
    quant = quant_mode(profile)
    hid = hero.get("id", "?")
    if method not in METHODS:
        raise InputError(None, f"hero {hid}: unknown training method {method!r}; use one of {', '.join(METHODS)}")
    if method == "qlora" and quant != "4bit":
        raise InputError(None, f"hero {hid}: method qlora needs quantization.mode 4bit (got {quant})")
    if method == "lora" and quant == "4bit":
        raise InputError(None, f"hero {hid}: a 4-bit base with adapters is method qlora, not lora")
    if method in ("full", "galore") and quant != "none":
        raise InputError(
            None, f"hero {hid}: method {method} trains every weight and cannot use a {quant} base (quantization none)"
        )
    return method


def quant_mode(profile: Mapping[str, Any] | None) -> str:
    return str(((profile or {}).get("quantization") or {}).get("mode") or "none")


def check_method_optimizer(method: str, optimizer: str) -> None:
    """GaLore optimizers need method galore (and galore needs one); Muon needs full weights."""
    if method == "galore" and optimizer not in GALORE_OPTIMIZERS:
        raise InputError(None, f"method galore needs optimizer galore_adamw or galore_adamw_8bit, not {optimizer}")
    if optimizer in GALORE_OPTIMIZERS and method in ADAPTER_METHODS:
        raise InputError(
            None,
            f"optimizer {optimizer} projects full weight gradients and cannot train LoRA adapters (method "
            f"{method}): use a GaLore profile, or an AdamW optimizer",
        )
    if optimizer == "muon" and method in ADAPTER_METHODS:
        raise InputError(None, f"optimizer muon trains full 2-D weights; method {method} trains adapters: use adamw")


def pick_attention(requested: str | None = None) -> tuple[str, str | None]:
    """(implementation, note): flash_attention_2 only where it can run (CUDA + flash-attn), else sdpa."""
    cuda = torch.cuda.is_available()
    flash_ok = cuda and importlib.util.find_spec("flash_attn") is not None
    if requested in (None, "", "auto"):
        if flash_ok:
            return "flash_attention_2", None
        return "sdpa", None
    if requested == "flash_attention_2" and not flash_ok:
        why = "flash-attn is not installed" if cuda else "it needs a CUDA GPU"
        return "sdpa", f"attention: sdpa instead of flash_attention_2 ({why})"
    return str(requested), None


def quantization_config(profile: Mapping[str, Any]) -> Any | None:
    """A `BitsAndBytesConfig` for a 4-bit (QLoRA) or 8-bit base; None without quantization."""
    quant = dict(profile.get("quantization") or {})
    mode = str(quant.get("mode") or "none")
    if mode == "none":
        return None
    if importlib.util.find_spec("bitsandbytes") is None:
        raise InputError(None, f"a {mode} base needs bitsandbytes: pip install bitsandbytes")
    from transformers import BitsAndBytesConfig

    if mode == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True)
    compute = _COMPUTE_DTYPES[str(quant.get("compute_dtype") or "bf16")]
    if compute == torch.bfloat16 and torch.cuda.is_available() and not torch.cuda.is_bf16_supported():
        compute = torch.float16
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type=str(quant.get("bnb_4bit_quant_type") or "nf4"),
        bnb_4bit_use_double_quant=bool(quant.get("double_quant", True)),
        bnb_4bit_compute_dtype=compute,
    )


def base_dtype(method: str, for_training: bool) -> Any:
    """fp32 master weights for full/galore training (autocast does the bf16 maths); a frozen
    LoRA base may sit in bf16 where the GPU has it; a quantized base keeps its other weights in
    fp32 on a CPU (prepare_model_for_kbit_training casts them up anyway)."""
    if not for_training:
        return "auto"
    bf16_gpu = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if method in ADAPTER_METHODS and bf16_gpu:
        return torch.bfloat16
    return torch.float32


def lora_config(cfg: Mapping[str, Any]) -> Any:
    from peft import LoraConfig

    targets: Any = cfg.get("target_modules") or "all-linear"
    if isinstance(targets, list | tuple) and list(targets) == ["all-linear"]:
        targets = "all-linear"  # peft spells "every linear layer but the head" as a plain string
    else:
        targets = list(targets) if isinstance(targets, list | tuple) else targets
    r = int(cfg.get("r", 16))
    return LoraConfig(
        r=r,
        lora_alpha=float(cfg.get("alpha", 2 * r)),  # type: ignore[arg-type]  # peft scales by alpha / r
        lora_dropout=float(cfg.get("dropout", 0.0)),
        target_modules=targets,
        task_type="CAUSAL_LM",
    )


def apply_method(
    model: Any, method: str, profile: Mapping[str, Any], hero: Mapping[str, Any], *, for_training: bool = True
) -> tuple[Any, list[str]]:
    """Gradient checkpointing, k-bit preparation and adapters; returns (model, notes)."""
    notes: list[str] = []
    checkpointing = bool(profile.get("gradient_checkpointing")) and for_training
    kwargs = {"use_reentrant": False}
    if method == "qlora" or (method == "lora" and quant_mode(profile) != "none"):
        from peft import prepare_model_for_kbit_training

        # Casts the unquantized weights (norms, embeddings) to fp32 and makes the input carry grads.
        model = prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=checkpointing, gradient_checkpointing_kwargs=kwargs
        )
        notes.append(f"{quant_mode(profile)} base weights (bitsandbytes) on {_device_of(model)}")
        if not torch.cuda.is_available():
            notes.append("bitsandbytes runs the quantized matmuls on the CPU here: correct but slow")
    elif checkpointing:
        enable_checkpointing(model, kwargs)
        if method in ADAPTER_METHODS:
            model.enable_input_require_grads()  # checkpointed blocks need a grad-carrying input
    if checkpointing:
        notes.append("gradient checkpointing on (activations recomputed in the backward pass)")
    if method in ADAPTER_METHODS:
        from peft import get_peft_model

        model = get_peft_model(model, lora_config(profile.get("lora") or hero.get("lora") or {}))
        if for_training:
            model.train()
    return model, notes


def enable_checkpointing(model: Any, kwargs: dict[str, Any]) -> None:
    """`gradient_checkpointing_enable(use_reentrant=False)`; transformers 5 renamed it
    `activation_checkpointing_enable` (the old name still works, with a warning)."""
    if hasattr(model, "activation_checkpointing_enable"):
        model.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)
    else:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)


def _device_of(model: Any) -> str:
    try:
        return str(next(model.parameters()).device)
    except StopIteration:
        return "cpu"
