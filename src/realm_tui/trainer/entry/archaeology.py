"""Archaeology: per-layer statistics of a checkpoint's weights, and the drift between two.

`python -m realm_tui.trainer.entry.archaeology FOLDER [--against OLDER]` reads the safetensors
files of one checkpoint (and of an older one) tensor by tensor, lazily (`safe_open`), and prints
one JSON object per line:

* `{"stage": …}` and `{"progress": done, "total": n}` while it reads;
* `{"result": {...}}` (exit 0): `stats` (per layer: parameter count, weight norm, mean, std,
  fraction of near-zero weights; for a LoRA adapter also the norm of the update B·A·scale the
  adapter adds) and, with `--against`, `drift` (per layer: ‖B−A‖/‖A‖ and the cosine of A and B);
* `{"error": "<file>: <problem>"}` (exit 2 for an unreadable or mismatched file, 1 otherwise).

A "layer" is a transformer block (`layers.3`) or a top-level module (`embed_tokens`, `norm`,
`lm_head`). Sums run in float64 over chunks, so a large embedding never needs a float64 copy.
Only this child imports torch and safetensors; the game follows its lines
(`realm_tui.services.archaeology`).
"""

from __future__ import annotations

import json
import math
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from realm_tui.contract import manifest as mf
from realm_tui.errors import InputError

NEAR_ZERO = 1e-4
"""A weight with |w| below this counts as near-zero."""
CHUNK = 1 << 22
"""Elements summed at a time (float64 accumulators over float32 chunks)."""
PROGRESS_EVERY_S = 0.2
ADAPTER_CONFIG = "adapter_config.json"
_BLOCK = re.compile(r"(?:^|\.)(layers|h|blocks|block|layer)\.(\d+)(?:\.|$)")
_DROP = ("base_model.model.", "model.", "transformer.")


def layer_of(tensor_name: str) -> str:
    """`model.layers.3.mlp.up_proj.weight` → `layers.3`; `lm_head.weight` → `lm_head`."""
    found = _BLOCK.search(tensor_name)
    if found:
        return f"layers.{found.group(2)}"
    name = tensor_name
    for prefix in _DROP:
        while name.startswith(prefix):
            name = name[len(prefix) :]
    parts = name.split(".")
    return ".".join(parts[:-1]) or parts[0]


def layer_order(name: str) -> tuple[int, int, str]:
    """Embeddings first, blocks by number, the rest (final norm, head) last."""
    found = re.fullmatch(r"layers\.(\d+)", name)
    if found:
        return (1, int(found.group(1)), name)
    return (0 if "emb" in name else 2, 0, name)


@dataclass
class Sums:
    """Running float64 sums over some tensors (one layer, or the whole model)."""

    n: int = 0
    sq: float = 0.0
    total: float = 0.0
    near_zero: int = 0

    def row(self) -> dict[str, Any]:
        mean = self.total / self.n if self.n else 0.0
        var = max(self.sq / self.n - mean * mean, 0.0) if self.n else 0.0
        frac = self.near_zero / self.n if self.n else 0.0
        return {"params": self.n, "norm": math.sqrt(self.sq), "mean": mean, "std": math.sqrt(var), "near_zero": frac}


@dataclass
class PairSums:
    """Running sums for the drift of one layer: ‖A‖², ‖B‖², ‖B−A‖², ⟨A,B⟩."""

    n: int = 0
    aa: float = 0.0
    bb: float = 0.0
    dd: float = 0.0
    ab: float = 0.0

    def row(self) -> dict[str, Any]:
        na, nb, nd = math.sqrt(self.aa), math.sqrt(self.bb), math.sqrt(self.dd)
        rel = nd / na if na > 0 else (0.0 if nd == 0 else None)
        cos = self.ab / (na * nb) if na > 0 and nb > 0 else (1.0 if na == nb == 0 else None)
        if cos is not None:
            cos = max(-1.0, min(1.0, cos))
        return {"params": self.n, "norm_a": na, "norm_b": nb, "delta_norm": nd, "rel_change": rel, "cosine": cos}


@dataclass
class Progress:
    total: int
    done: int = 0
    _last: float = field(default=0.0)

    def step(self) -> None:
        self.done += 1
        now = time.monotonic()
        if self.done == self.total or now - self._last >= PROGRESS_EVERY_S:
            self._last = now
            say(progress=self.done, total=self.total)


def say(**fields: Any) -> None:
    sys.stdout.write(json.dumps(fields, ensure_ascii=False) + "\n")
    sys.stdout.flush()


# ---------------------------------------------------------------- reading


def weight_files(folder: Path) -> list[Path]:
    """The checkpoint's safetensors files: those its manifest lists, else every one in the folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(folder, "checkpoint folder not found")
    if (folder / mf.MANIFEST).is_file():
        names = [rel for rel in mf.read_manifest(folder)["files"] if rel.endswith(mf.WEIGHT_SUFFIXES)]
    else:
        names = [p.name for p in folder.glob("*.safetensors")]
    if not names:
        raise InputError(folder, "no .safetensors weight file in this checkpoint")
    return [folder / rel for rel in sorted(names)]


class Weights:
    """Lazy access to every tensor of a checkpoint's safetensors files, by name."""

    def __init__(self, folder: Path) -> None:
        from safetensors import safe_open

        self.folder = Path(folder)
        self._where: dict[str, Any] = {}
        self._handles: list[Any] = []
        for path in weight_files(self.folder):
            try:
                handle = safe_open(str(path), framework="pt")
                keys = list(handle.keys())
            except Exception as err:  # SafetensorError, OSError: a truncated or foreign file
                raise InputError(path, f"cannot be read as safetensors (truncated or damaged?): {err}") from None
            self._handles.append((path, handle))
            for key in keys:
                self._where[key] = (path, handle)

    def names(self) -> list[str]:
        return sorted(self._where)

    def get(self, name: str) -> Any:
        path, handle = self._where[name]
        try:
            return handle.get_tensor(name).float().flatten()
        except Exception as err:
            raise InputError(path, f"tensor {name} cannot be read (truncated or damaged?): {err}") from None


def _chunks(*tensors: Any) -> Any:
    n = tensors[0].numel()
    for start in range(0, n, CHUNK):
        yield tuple(t[start : start + CHUNK] for t in tensors)


def add_stats(into: Sums, tensor: Any) -> None:
    import torch

    for (part,) in _chunks(tensor):
        into.n += part.numel()
        into.sq += float(torch.sum(part.double() ** 2))
        into.total += float(torch.sum(part, dtype=torch.float64))
        into.near_zero += int((part.abs() < NEAR_ZERO).sum())


def add_pair(into: PairSums, a: Any, b: Any) -> None:
    import torch

    for pa, pb in _chunks(a, b):
        da, db = pa.double(), pb.double()
        into.n += pa.numel()
        into.aa += float(torch.sum(da * da))
        into.bb += float(torch.sum(db * db))
        into.dd += float(torch.sum((db - da) ** 2))
        into.ab += float(torch.sum(da * db))


# ---------------------------------------------------------------- LoRA


def lora_scale(folder: Path) -> float | None:
    """alpha / r (or / √r with rsLoRA) from adapter_config.json; None for a full checkpoint."""
    path = Path(folder) / ADAPTER_CONFIG
    if not path.is_file():
        return None
    try:
        cfg = json.loads(path.read_text(encoding="utf-8"))
        r = float(cfg["r"])
        alpha = float(cfg.get("lora_alpha", r))
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise InputError(path, f"cannot read the LoRA rank and alpha ({err})") from None
    return alpha / (math.sqrt(r) if cfg.get("use_rslora") else r) if r > 0 else 0.0


def adapter_updates(weights: Weights, scale: float) -> dict[str, float]:
    """Per layer, ‖Σ scale·B·A‖ over its adapted modules (as a sum of squares per module)."""
    squares: dict[str, float] = {}
    for name in weights.names():
        if ".lora_A." not in name:
            continue
        partner = name.replace(".lora_A.", ".lora_B.")
        if partner not in weights._where:
            continue
        path, handle = weights._where[name]
        a, b = handle.get_tensor(name).float(), handle.get_tensor(partner).float()
        if a.dim() != 2 or b.dim() != 2 or b.shape[1] != a.shape[0]:
            continue
        delta = (b @ a) * scale
        squares[layer_of(name)] = squares.get(layer_of(name), 0.0) + float((delta.double() ** 2).sum())
    return {layer: math.sqrt(sq) for layer, sq in squares.items()}


# ---------------------------------------------------------------- the work


def _layer_rows(sums: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"layer": layer, **sums[layer].row()} for layer in sorted(sums, key=layer_order)]


def checkpoint_stats(weights: Weights, progress: Progress | None = None) -> dict[str, Any]:
    layers: dict[str, Sums] = {}
    whole = Sums()
    for name in weights.names():
        tensor = weights.get(name)
        add_stats(layers.setdefault(layer_of(name), Sums()), tensor)
        add_stats(whole, tensor)
        if progress is not None:
            progress.step()
    scale = lora_scale(weights.folder)
    rows = _layer_rows(layers)
    if scale is not None:
        updates = adapter_updates(weights, scale)
        for row in rows:
            row["adapter_update_norm"] = updates.get(row["layer"])
    return {"adapter": scale is not None, "near_zero_below": NEAR_ZERO, "layers": rows, "total": whole.row()}


def drift(older: Weights, newer: Weights, progress: Progress | None = None) -> dict[str, Any]:
    names_a, names_b = set(older.names()), set(newer.names())
    common = sorted(names_a & names_b)
    if not common:
        raise InputError(newer.folder, f"shares no tensor with {older.folder}: they cannot be compared")
    layers: dict[str, PairSums] = {}
    whole = PairSums()
    mismatched: list[str] = []
    for name in common:
        a, b = older.get(name), newer.get(name)
        if a.numel() != b.numel():
            mismatched.append(name)
        else:
            add_pair(layers.setdefault(layer_of(name), PairSums()), a, b)
            add_pair(whole, a, b)
        if progress is not None:
            progress.step()
    return {
        "layers": _layer_rows(layers),
        "total": whole.row(),
        "only_in_a": sorted(names_a - names_b),
        "only_in_b": sorted(names_b - names_a),
        "shape_changed": mismatched,
    }


def examine(folder: Path, against: Path | None = None) -> dict[str, Any]:
    """Stats of `folder` (and of `against`) and, with `against`, the drift from it to `folder`."""
    newer = Weights(folder)
    older = Weights(against) if against is not None else None
    total = len(newer.names())
    if older is not None:
        total += len(older.names()) + len(set(older.names()) & set(newer.names()))
    progress = Progress(total)
    say(stage=f"reading {newer.folder.name}")
    result: dict[str, Any] = {"stats": checkpoint_stats(newer, progress)}
    if older is not None:
        say(stage=f"reading {older.folder.name}")
        result["stats_a"] = checkpoint_stats(older, progress)
        say(stage=f"comparing {older.folder.name} → {newer.folder.name}")
        result["drift"] = drift(older, newer, progress)
    return result


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m realm_tui.trainer.entry.archaeology")
    parser.add_argument("checkpoint", help="the checkpoint folder to examine")
    parser.add_argument("--against", default=None, help="an older checkpoint folder: also report the drift from it")
    args = parser.parse_args(argv)
    try:
        import torch

        torch.set_num_threads(1)  # a side task: never compete with a running battle for cores
        result = examine(Path(args.checkpoint), Path(args.against) if args.against else None)
    except InputError as err:
        say(error=" ".join(str(err).split()))
        return 2
    except Exception as err:  # one line for the caller; a traceback would be noise there
        say(error=" ".join(f"{type(err).__name__}: {err}".split()))
        return 1
    say(result=result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
