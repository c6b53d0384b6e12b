"""Archaeology of the Vault: per-layer weight statistics of a checkpoint and the drift between two.

The numbers come from `python -m realm_tui.trainer.entry.archaeology` run in a child process
(it imports torch and safetensors; this module never does) whose JSON lines are followed here:
progress is handed to the caller, the result is turned into dataclasses. Answers are cached in
the store's `archaeology` table under the sha256 of the weight files (from the verified
manifest), so asking again costs one verification and no child. No typer, rich or textual: the
CLI (`realm vault drift`) and the Vault screen (from a worker thread) both call `Archaeology`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from realm_tui.contract.manifest import WEIGHT_SUFFIXES
from realm_tui.errors import InputError, RealmError
from realm_tui.paths import RealmPaths
from realm_tui.services.archaeology_child import ArchaeologyFailed, Progress, ProgressHook, run_archaeology_child
from realm_tui.services.vault import Vault, VaultRefusal
from realm_tui.store import Store
from realm_tui.store.archaeology_cache import ArchaeologyRecord


@dataclass(frozen=True)
class LayerStats:
    layer: str
    params: int
    norm: float
    mean: float
    std: float
    near_zero: float
    """Fraction of weights with |w| below `CheckpointStats.near_zero_below`."""
    adapter_update_norm: float | None = None
    """For a LoRA adapter: ‖scale·B·A‖ summed over the layer's adapted modules."""


@dataclass(frozen=True)
class CheckpointStats:
    name: str
    adapter: bool
    near_zero_below: float
    layers: list[LayerStats]
    total: LayerStats


@dataclass(frozen=True)
class LayerDrift:
    layer: str
    params: int
    norm_a: float
    norm_b: float
    delta_norm: float
    rel_change: float | None
    """‖B−A‖/‖A‖ (None when A is all zeros and B is not)."""
    cosine: float | None


@dataclass(frozen=True)
class DriftReport:
    a: str
    b: str
    layers: list[LayerDrift]
    total: LayerDrift
    stats_a: CheckpointStats
    stats_b: CheckpointStats
    only_in_a: list[str] = field(default_factory=list)
    only_in_b: list[str] = field(default_factory=list)
    shape_changed: list[str] = field(default_factory=list)
    cached: bool = False
    """True when the answer came from the store (no child ran)."""

    def as_json(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


Keep = Callable[[list[ArchaeologyRecord]], object]


def weights_key(manifest: dict[str, Any]) -> str:
    """One hash for a checkpoint's weights: sha256 over its weight files' names and sha256s."""
    h = hashlib.sha256()
    for rel, entry in sorted(manifest["files"].items()):
        if rel.endswith(WEIGHT_SUFFIXES):
            h.update(f"{rel}\0{entry.get('sha256')}\n".encode())
    return h.hexdigest()


# ---------------------------------------------------------------- results


def _layer_stats(row: dict[str, Any]) -> LayerStats:
    return LayerStats(
        layer=str(row.get("layer", "all")),
        params=int(row["params"]),
        norm=float(row["norm"]),
        mean=float(row["mean"]),
        std=float(row["std"]),
        near_zero=float(row["near_zero"]),
        adapter_update_norm=_opt(row.get("adapter_update_norm")),
    )


def _opt(value: Any) -> float | None:
    return None if value is None else float(value)


def stats_of(name: str, raw: dict[str, Any]) -> CheckpointStats:
    return CheckpointStats(
        name=name,
        adapter=bool(raw["adapter"]),
        near_zero_below=float(raw["near_zero_below"]),
        layers=[_layer_stats(r) for r in raw["layers"]],
        total=_layer_stats(raw["total"]),
    )


def _layer_drift(row: dict[str, Any]) -> LayerDrift:
    return LayerDrift(
        layer=str(row.get("layer", "all")),
        params=int(row["params"]),
        norm_a=float(row["norm_a"]),
        norm_b=float(row["norm_b"]),
        delta_norm=float(row["delta_norm"]),
        rel_change=_opt(row.get("rel_change")),
        cosine=_opt(row.get("cosine")),
    )


def drift_of(a: str, b: str, raw: dict[str, Any], cached: bool) -> DriftReport:
    d = raw["drift"]
    return DriftReport(
        a=a,
        b=b,
        layers=[_layer_drift(r) for r in d["layers"]],
        total=_layer_drift(d["total"]),
        stats_a=stats_of(a, raw["stats_a"]),
        stats_b=stats_of(b, raw["stats"]),
        only_in_a=list(d.get("only_in_a", [])),
        only_in_b=list(d.get("only_in_b", [])),
        shape_changed=list(d.get("shape_changed", [])),
        cached=cached,
    )


# ---------------------------------------------------------------- the use-case


class Archaeology:
    """Stats and drift of the ledger's checkpoints, computed once per pair of weights.

    `keep` stores fresh answers; by default into `store` when it is writable (a read-only store,
    e.g. the CLI's while a battle runs, passes its own `keep` or caches nothing).
    """

    def __init__(
        self,
        realm: RealmPaths,
        store: Store,
        *,
        keep: Keep | None = None,
        runner: Callable[..., dict[str, Any]] = run_archaeology_child,
    ) -> None:
        self.realm = realm
        self.store = store
        self.vault = Vault(realm, store)
        self._keep = keep if keep is not None else self._keep_in_store
        self._runner = runner

    def _keep_in_store(self, records: list[ArchaeologyRecord]) -> None:
        if not self.store.readonly:
            for record in records:
                self.store.archaeology.upsert(record)

    def previous(self, name: str) -> str | None:
        """The checkpoint saved before `name` in its campaign (damaged ones skipped), or None."""
        record = self._record(name)
        older = [r for r in self.store.ledger.by_campaign(record.campaign_id) if not r.damaged]
        names = [r.name for r in older]
        if name not in names:
            return None
        at = names.index(name)
        return names[at - 1] if at > 0 else None

    def _record(self, name: str) -> Any:
        record = self.store.ledger.get(name)
        if record is None:
            raise InputError(None, f"{name} is not in the ledger: `realm vault list` names the checkpoints")
        return record

    def _verified(self, name: str) -> tuple[Path, str]:
        """The checkpoint's folder (verified: manifest, sizes, hashes) and its weights key."""
        from realm_tui.contract.manifest import read_manifest

        record = self._record(name)
        try:
            folder = self.vault.verified_folder(record)
        except VaultRefusal as err:
            raise InputError(None, str(err)) from None
        return folder, weights_key(read_manifest(folder))

    def cached_drift(self, b: str, a: str | None = None) -> DriftReport | None:
        """The stored drift of `b` from `a` (default: the previous checkpoint), or None.

        Cheap enough for the UI thread: two manifests are read, nothing is hashed and no child
        runs (the answer was computed from files whose hashes these manifests record).
        """
        from realm_tui.contract.manifest import read_manifest

        a = a if a is not None else self.previous(b) if b in self.store.ledger else None
        if a is None or a == b:
            return None
        keys = []
        for name in (a, b):
            record = self.store.ledger.get(name)
            if record is None:
                return None
            try:
                keys.append(weights_key(read_manifest(self.vault.folder(record))))
            except (RealmError, VaultRefusal):
                return None
        hit = self.store.archaeology.get(f"drift:{keys[0]}:{keys[1]}")
        return drift_of(a, b, hit.result, cached=True) if hit is not None else None

    def drift(
        self,
        b: str,
        a: str | None = None,
        *,
        on_progress: ProgressHook | None = None,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> DriftReport:
        """How `b`'s weights moved from `a`'s (default: the checkpoint before `b`)."""
        if a is None:
            a = self.previous(b)
            if a is None:
                raise InputError(None, f"{b} is the first checkpoint of its campaign: name one to compare it with")
        if a == b:
            raise InputError(None, f"{a} compared with itself: name two different checkpoints")
        if on_progress is not None:
            on_progress(Progress("verifying the checkpoints"))
        folder_a, key_a = self._verified(a)
        folder_b, key_b = self._verified(b)
        drift_id = f"drift:{key_a}:{key_b}"
        hit = self.store.archaeology.get(drift_id)
        if hit is not None:
            return drift_of(a, b, hit.result, cached=True)
        raw = self._runner(folder_b, folder_a, on_progress=on_progress, cancelled=cancelled)
        try:
            report = drift_of(a, b, raw, cached=False)
        except (KeyError, TypeError, ValueError) as err:
            raise ArchaeologyFailed(f"the archaeology child answered something unexpected ({err!r})") from None
        self._keep(
            [
                ArchaeologyRecord(id=drift_id, kind="drift", result=raw),
                ArchaeologyRecord(id=f"stats:{key_a}", kind="stats", result=raw["stats_a"]),
                ArchaeologyRecord(id=f"stats:{key_b}", kind="stats", result=raw["stats"]),
            ]
        )
        return report

    def stats(
        self,
        name: str,
        *,
        on_progress: ProgressHook | None = None,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> CheckpointStats:
        """Per-layer statistics of one checkpoint's weights."""
        folder, key = self._verified(name)
        hit = self.store.archaeology.get(f"stats:{key}")
        if hit is not None:
            return stats_of(name, hit.result)
        raw = self._runner(folder, None, on_progress=on_progress, cancelled=cancelled)
        stats = stats_of(name, raw["stats"])
        self._keep([ArchaeologyRecord(id=f"stats:{key}", kind="stats", result=raw["stats"])])
        return stats


# ---------------------------------------------------------------- shown by both faces

BLOCKS = " ▏▎▍▌▋▊▉█"


def bar_text(value: float | None, peak: float, width: int) -> str:
    """A text bar of `width` cells, full at `peak` (eighths of a cell; empty for None or 0)."""
    if value is None or peak <= 0 or value <= 0:
        return " " * width
    eighths = round(min(value / peak, 1.0) * width * 8)
    if eighths == 0:
        eighths = 1  # a layer that moved at all shows a sliver: only exactly zero is blank
    full, part = divmod(eighths, 8)
    text = "█" * full + (BLOCKS[part] if part else "")
    return text.ljust(width)


def drift_lines(report: DriftReport, width: int = 30) -> list[str]:
    """One line per layer: name, bar of ‖ΔW‖/‖W‖ (scaled to the largest), the figure, cosine."""
    peak = max((d.rel_change or 0.0 for d in report.layers), default=0.0)
    name_w = max((len(d.layer) for d in report.layers), default=5)
    lines = []
    for d in report.layers:
        rel = "—" if d.rel_change is None else f"{d.rel_change:.2e}"
        cos = "—" if d.cosine is None else f"{d.cosine:.6f}"
        lines.append(f"{d.layer:<{name_w}}  {bar_text(d.rel_change, peak, width)}  {rel:>9}  cos {cos}")
    return lines
