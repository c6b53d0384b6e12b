"""The optimizer factory, the only one: every optimizer the Armory offers, built for a model.

Trainer side (imports torch); bitsandbytes and galore-torch are imported only for the optimizer
asked for. The names, where each comes from and a profile's arguments are pure
(`realm_tui.armory.optimizers`); the battle builds its optimizer through `trainer.optim_setup`.

    optimizer = build_optimizer(name, model, lr, weight_decay, **optimizer_kwargs(profile))

| name                | from                      | state per trainable parameter                    |
|---------------------|---------------------------|--------------------------------------------------|
| `adamw`             | `torch.optim.AdamW`       | 2 moments, parameter dtype                       |
| `adamw_torch_fused` | `torch.optim.AdamW(fused)`| same; fused kernel on CUDA, foreach on a CPU     |
| `adamw_8bit`        | `bitsandbytes.optim.AdamW8bit` | 2 × 8-bit (+ fp32 absmax per 256)           |
| `paged_adamw_32bit` | `bitsandbytes.optim.PagedAdamW32bit` | 2 × fp32 in pageable unified memory   |
| `paged_adamw_8bit`  | `bitsandbytes.optim.PagedAdamW8bit`  | 2 × 8-bit, pageable                   |
| `galore_adamw`      | `galore_torch.GaLoreAdamW`     | 2 moments of the rank-r projected gradient  |
| `galore_adamw_8bit` | `galore_torch.GaLoreAdamW8bit` | same in 8 bits (CUDA only)                  |
| `muon`              | `torch.optim.Muon` + `AdamW`   | 1 momentum (2-D hidden matrices) / 2 moments|

Parameter groups: weight decay goes to matrices only (norm weights and biases get none), as in
the trainer. GaLore projects the 2-D weights whose module name contains a target fragment
(`attn`, `mlp`); Muon takes the 2-D weights of the hidden layers and leaves embeddings, the LM head,
norms and biases to AdamW, inside one `MuonWithAdamW` optimizer that LR schedulers, `accelerate`
and checkpoints (`state_dict` / `load_state_dict`, `torch.load(weights_only=True)`) handle like
any other.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn

from realm_tui.armory.optimizers import GALORE_DEFAULT_TARGETS
from realm_tui.config.common import OPTIMIZERS
from realm_tui.errors import InputError

log = logging.getLogger(__name__)

BNB_CLASSES = {"adamw_8bit": "AdamW8bit", "paged_adamw_32bit": "PagedAdamW32bit", "paged_adamw_8bit": "PagedAdamW8bit"}
EMBEDDING_NAME_HINTS = ("embed", "lm_head", "wte", "wpe", "output_layer")


def build_optimizer(
    name: str,
    model: Any,
    lr: float,
    weight_decay: float = 0.0,
    *,
    notes: list[str] | None = None,
    **kwargs: Any,
) -> torch.optim.Optimizer:
    """Build optimizer `name` over `model`'s trainable parameters.

    `kwargs` go to the optimizer (`betas`, `eps`, ...); GaLore takes `rank`, `update_proj_gap`,
    `scale`, `proj_type`, `target_modules`; Muon takes `momentum`, `nesterov`, `ns_steps`,
    `ns_coefficients`, `adjust_lr_fn` (default `match_rms_adamw`, so one lr suits both halves),
    `adamw_betas`, `adamw_eps`. Fall-backs (fused AdamW on a CPU) are logged and appended to
    `notes` when given. Raises `InputError` for an unknown name or a missing library.
    """
    if name not in OPTIMIZERS:
        raise InputError(None, f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    if lr <= 0:
        raise InputError(None, f"learning rate must be positive, got {lr}")
    said: list[str] = [] if notes is None else notes
    optimizer = _build(name, model, lr, weight_decay, said, dict(kwargs))
    for note in said:
        log.info("optimizer %s: %s", name, note)
    return optimizer


def _trainable(model: nn.Module) -> list[tuple[str, nn.Parameter]]:
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if not named:
        raise InputError(None, "the model has no trainable parameters (is every weight frozen?)")
    return named


def _decay_groups(named: Iterable[tuple[str, nn.Parameter]], weight_decay: float) -> list[dict[str, Any]]:
    """Weight decay on matrices only; norm weights and biases (1-D) get none (nanoGPT's rule)."""
    params = [p for _, p in named]
    groups = [
        {"params": [p for p in params if p.ndim >= 2], "weight_decay": weight_decay},
        {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
    ]
    return [g for g in groups if g["params"]]


def _device_type(named: list[tuple[str, nn.Parameter]]) -> str:
    return named[0][1].device.type


def _betas(kwargs: dict[str, Any], key: str = "betas") -> None:
    if key in kwargs:
        kwargs[key] = tuple(float(b) for b in kwargs[key])


def _build(
    name: str, model: nn.Module, lr: float, weight_decay: float, notes: list[str], kwargs: dict[str, Any]
) -> torch.optim.Optimizer:
    named = _trainable(model)
    _betas(kwargs)
    if name in ("adamw", "adamw_torch_fused"):
        if name == "adamw_torch_fused":
            if _device_type(named) == "cuda":
                kwargs.setdefault("fused", True)
            else:
                kwargs.setdefault("foreach", True)
                notes.append(
                    f"fused AdamW runs on CUDA only; the parameters are on {_device_type(named)}, "
                    "so this is the foreach AdamW (same maths)"
                )
        return torch.optim.AdamW(_decay_groups(named, weight_decay), lr=lr, **kwargs)
    if name in BNB_CLASSES:
        bnb_optim = _import("bitsandbytes.optim", "bitsandbytes", name)
        cls = getattr(bnb_optim, BNB_CLASSES[name])
        if _device_type(named) != "cuda" and name.startswith("paged_"):
            notes.append("paged optimizer on a CPU: nothing to page, the state is plain RAM")
        optimizer: torch.optim.Optimizer = cls(_decay_groups(named, weight_decay), lr=lr, **kwargs)
        return optimizer
    if name in ("galore_adamw", "galore_adamw_8bit"):
        return _build_galore(name, named, lr, weight_decay, notes, kwargs)
    if name == "muon":
        return _build_muon(model, named, lr, weight_decay, notes, kwargs)
    raise InputError(None, f"unknown optimizer {name!r}")


def _import(module: str, package: str, optimizer: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise InputError(None, f"optimizer {optimizer} needs {package}: pip install {package} ({err})") from None


# ---------------------------------------------------------------- GaLore


def _pack_projector(projector: Any) -> dict[str, Any]:
    # Only tensors: torch's load_state_dict rebuilds every iterable value (a str would come back
    # mangled), and the settings live in the parameter group anyway.
    return {"ortho_matrix": projector.ortho_matrix}


def _galore_serializable(base: type, projector_cls: type, name: str) -> type:
    """`base` with a state_dict that holds only tensors and plain values.

    galore-torch keeps a `GaLoreProjector` object in each projected parameter's state; pickling
    it would make checkpoints need `torch.load(weights_only=False)`. Here only its projection
    matrix is saved, and the projector is rebuilt on load from the parameter group's settings
    (rank, update_proj_gap, scale, proj_type).
    """

    class Serializable(base):
        def state_dict(self) -> dict[str, Any]:
            sd = super().state_dict()
            packed = {}
            for key, value in sd["state"].items():
                if isinstance(value, dict) and isinstance(value.get("projector"), projector_cls):
                    value = {**value, "projector": _pack_projector(value["projector"])}
                packed[key] = value
            return {**sd, "state": packed}

        def load_state_dict(self, state_dict: dict[str, Any], *args: Any, **kwargs: Any) -> None:
            super().load_state_dict(state_dict, *args, **kwargs)
            for group in self.param_groups:
                for p in group["params"]:
                    value = self.state.get(p)
                    if isinstance(value, dict) and isinstance(value.get("projector"), dict):
                        projector = projector_cls(
                            group["rank"],
                            update_proj_gap=group["update_proj_gap"],
                            scale=group["scale"],
                            proj_type=group["proj_type"],
                        )
                        projector.ortho_matrix = value["projector"]["ortho_matrix"]
                        value["projector"] = projector

    Serializable.__name__ = Serializable.__qualname__ = name
    return Serializable


@functools.cache
def galore_classes() -> dict[str, type]:
    """`{"galore_adamw": ..., "galore_adamw_8bit": ...}`: galore-torch's optimizers with plain state dicts."""
    galore = _import("galore_torch", "galore-torch", "galore_adamw")
    projector = _import("galore_torch.galore_projector", "galore-torch", "galore_adamw").GaLoreProjector
    return {
        "galore_adamw": _galore_serializable(galore.GaLoreAdamW, projector, "GaLoreAdamW"),
        "galore_adamw_8bit": _galore_serializable(galore.GaLoreAdamW8bit, projector, "GaLoreAdamW8bit"),
    }


def _build_galore(
    name: str,
    named: list[tuple[str, nn.Parameter]],
    lr: float,
    weight_decay: float,
    notes: list[str],
    kwargs: dict[str, Any],
) -> torch.optim.Optimizer:
    rank = int(kwargs.pop("rank", 128))
    gap = int(kwargs.pop("update_proj_gap", 200))
    scale = float(kwargs.pop("scale", 0.25))
    proj_type = str(kwargs.pop("proj_type", "std"))
    targets = list(kwargs.pop("target_modules", GALORE_DEFAULT_TARGETS))
    projected = [(n, p) for n, p in named if p.ndim == 2 and any(t in n for t in targets)]
    if not projected:
        raise InputError(
            None, f"galore target_modules {targets} match no 2-D weight of this model (names like self_attn.q_proj)"
        )
    chosen = {id(p) for _, p in projected}
    rest = [(n, p) for n, p in named if id(p) not in chosen]
    groups: list[dict[str, Any]] = [
        {
            "params": [p for _, p in projected],
            "rank": rank,
            "update_proj_gap": gap,
            "scale": scale,
            "proj_type": proj_type,
            "weight_decay": weight_decay,
        },
        *_decay_groups(rest, weight_decay),
    ]
    if name == "galore_adamw_8bit" and _device_type(named) != "cuda":
        raise InputError(
            None, "galore_adamw_8bit needs CUDA (galore-torch's 8-bit step synchronises the GPU); use galore_adamw"
        )
    cls = galore_classes()[name]
    if name == "galore_adamw":
        kwargs.setdefault("no_deprecation_warning", True)
    small = min(min(p.shape) for _, p in projected)
    if rank >= small:
        notes.append(f"GaLore rank {rank} is not below the smallest projected dimension ({small}): no memory saved")
    optimizer: torch.optim.Optimizer = cls(groups, lr=lr, **kwargs)
    return optimizer


# ---------------------------------------------------------------- Muon


class MuonWithAdamW(torch.optim.Optimizer):
    """Muon for the 2-D hidden matrices and AdamW for everything else, as one optimizer.

    The two inner optimizers share this optimizer's `param_groups` dicts (tagged `use_muon`) and
    its `state`, so an LR scheduler that scales `param_groups[i]["lr"]` drives both, and the
    standard `state_dict()` / `load_state_dict()` round-trip (and `torch.load(weights_only=True)`)
    work unchanged. Muon uses `adjust_lr_fn="match_rms_adamw"` by default (Moonshot's scaling),
    so one learning rate and weight decay tuned for AdamW suit both halves.
    """

    def __init__(
        self,
        muon_groups: list[dict[str, Any]],
        adamw_groups: list[dict[str, Any]],
        lr: float,
        weight_decay: float = 0.0,
        *,
        momentum: float = 0.95,
        nesterov: bool = True,
        ns_steps: int = 5,
        ns_coefficients: tuple[float, float, float] | None = None,
        adjust_lr_fn: str | None = "match_rms_adamw",
        adamw_betas: tuple[float, float] = (0.9, 0.999),
        adamw_eps: float = 1e-8,
    ) -> None:
        if not muon_groups:
            raise InputError(None, "muon found no 2-D hidden weight to train; use adamw for this model")
        for group in muon_groups:
            group["use_muon"] = True
        for group in adamw_groups:
            group["use_muon"] = False
        super().__init__([*muon_groups, *adamw_groups], {"lr": lr, "weight_decay": weight_decay})
        muon_kwargs: dict[str, Any] = {
            "lr": lr,
            "weight_decay": weight_decay,
            "momentum": momentum,
            "nesterov": nesterov,
            "ns_steps": ns_steps,
            "adjust_lr_fn": adjust_lr_fn,
        }
        if ns_coefficients is not None:
            muon_kwargs["ns_coefficients"] = tuple(ns_coefficients)
        self.muon = torch.optim.Muon([g for g in self.param_groups if g["use_muon"]], **muon_kwargs)
        adamw_own = [g for g in self.param_groups if not g["use_muon"]]
        self.adamw: torch.optim.Optimizer | None = (
            torch.optim.AdamW(
                adamw_own, lr=lr, betas=(adamw_betas[0], adamw_betas[1]), eps=adamw_eps, weight_decay=weight_decay
            )
            if adamw_own
            else None
        )
        self._link()

    def _link(self) -> None:
        """Point the inner optimizers at this optimizer's current groups and state."""
        self.muon.param_groups = [g for g in self.param_groups if g["use_muon"]]
        self.muon.state = self.state
        if self.adamw is not None:
            self.adamw.param_groups = [g for g in self.param_groups if not g["use_muon"]]
            self.adamw.state = self.state

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        self.muon.step()
        if self.adamw is not None:
            self.adamw.step()
        return loss

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        self._link()


def _embedding_ids(model: nn.Module) -> set[int]:
    ids: set[int] = set()
    for getter in ("get_input_embeddings", "get_output_embeddings"):
        fn = getattr(model, getter, None)
        if callable(fn):
            try:
                module = fn()
            except (NotImplementedError, AttributeError):
                module = None
            weight = getattr(module, "weight", None)
            if isinstance(weight, torch.Tensor):
                ids.add(id(weight))
    for module in model.modules():
        if isinstance(module, nn.Embedding):
            ids.add(id(module.weight))
    return ids


def _build_muon(
    model: nn.Module,
    named: list[tuple[str, nn.Parameter]],
    lr: float,
    weight_decay: float,
    notes: list[str],
    kwargs: dict[str, Any],
) -> torch.optim.Optimizer:
    if not hasattr(torch.optim, "Muon"):
        raise InputError(None, "optimizer muon needs torch.optim.Muon (torch 2.9 or newer)")
    embeddings = _embedding_ids(model)

    def hidden(name: str, p: nn.Parameter) -> bool:
        lowered = name.lower()
        return p.ndim == 2 and id(p) not in embeddings and not any(h in lowered for h in EMBEDDING_NAME_HINTS)

    muon_params = [p for n, p in named if hidden(n, p)]
    others = [(n, p) for n, p in named if not hidden(n, p)]
    _betas(kwargs, "adamw_betas")
    optimizer = MuonWithAdamW(
        [{"params": muon_params, "weight_decay": weight_decay}] if muon_params else [],
        _decay_groups(others, weight_decay),
        lr,
        weight_decay,
        **kwargs,
    )
    notes.append(
        f"muon trains {len(muon_params)} hidden matrices; AdamW takes the other {len(others)} tensors "
        "(embeddings, head, norms, biases)"
    )
    return optimizer


# ---------------------------------------------------------------- introspection


def _tensor_bytes(value: Any, seen: set[int]) -> int:
    if isinstance(value, torch.Tensor):
        key = value.untyped_storage().data_ptr() if value.numel() else id(value)
        if key in seen:
            return 0
        seen.add(key)
        return value.numel() * value.element_size()
    if isinstance(value, dict):
        return sum(_tensor_bytes(v, seen) for v in value.values())
    if isinstance(value, list | tuple):
        return sum(_tensor_bytes(v, seen) for v in value)
    ortho = getattr(value, "ortho_matrix", None)  # a GaLore projector
    if ortho is not None:
        return _tensor_bytes(ortho, seen)
    return 0


def optimizer_state_bytes(optimizer: Any) -> int:
    """Bytes held in the optimizer's state tensors (moments, projections, quantization maps)."""
    inner = getattr(optimizer, "optimizer", None)  # accelerate's AcceleratedOptimizer
    if isinstance(inner, torch.optim.Optimizer):
        optimizer = inner
    seen: set[int] = set()
    return sum(_tensor_bytes(v, seen) for v in optimizer.state.values())
