"""Hardware telemetry for the parent side: GPUs through NVML, CPU and memory through psutil.

The battle's parent (headless or the TUI) reads the machine while the trainer child trains: per GPU
its utilisation, memory used/total, temperature and power (pynvml, from nvidia-ml-py), and the CPU
load, the RSS of this process tree (the parent plus the trainer child and any other children) and
the system RAM (psutil). No torch here: the parent must stay light.

A machine without NVIDIA says "no GPU" and the CPU part still works; NVML that is present but
fails (driver/library mismatch, no permission) gives one clear line and no GPU figures, never an
exception. Readings are cached for `min_interval_s`, so however many panels ask, the machine is
probed at most once per interval.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from types import ModuleType
from typing import Any, TextIO

import psutil

from realm_tui.contract.protocol import Stopped

NO_GPU = "no GPU"
MIN_INTERVAL_S = 2.0
"""Least seconds between two real probes (panels and the JSON stream share the cached reading)."""
GIB = 2**30
JSON_EVERY_S = 5.0
"""Seconds between two telemetry lines in the headless JSON stream."""


@dataclass(frozen=True)
class GpuReading:
    """One GPU; a figure NVML does not give for this device (not supported, lost) is None."""

    index: int
    name: str
    utilization_pct: float | None = None
    memory_used_bytes: int | None = None
    memory_total_bytes: int | None = None
    temperature_c: float | None = None
    power_w: float | None = None


@dataclass(frozen=True)
class HardwareReport:
    at: float
    """Wall-clock time of the probe."""
    gpus: tuple[GpuReading, ...]
    gpu_note: str
    """Why no GPU figures: `no GPU`, or the one line saying how NVML failed ("" when GPUs are read)."""
    cpu_pct: float
    """System-wide CPU utilisation since the previous probe, 0..100."""
    cpu_count: int
    rss_bytes: int
    """Resident memory of this process and its children (summed: shared pages count once per process)."""
    ram_used_bytes: int
    ram_total_bytes: int

    def to_json(self) -> dict[str, Any]:
        """Plain values for a JSON line."""
        return asdict(self)


# ---------------------------------------------------------------- NVML


def _load_nvml() -> ModuleType | None:
    try:
        import pynvml
    except ImportError:
        return None
    return pynvml


class _Nvml:
    """NVML opened once; `gpus()` reads every device. Any NVML failure becomes `note`, never a crash."""

    def __init__(self, nvml: Any) -> None:
        self._nvml = nvml
        self.note = ""
        self._handles: list[tuple[int, str, Any]] = []
        self._opened = False

    def _open(self) -> None:
        self._opened = True
        nvml = self._nvml
        if nvml is None:
            self.note = NO_GPU
            return
        try:
            nvml.nvmlInit()
        except nvml.NVMLError as err:
            self.note = NO_GPU if _means_no_gpu(nvml, err) else f"GPU telemetry off: NVML failed ({_nvml_text(err)})"
            return
        try:
            for i in range(nvml.nvmlDeviceGetCount()):
                handle = nvml.nvmlDeviceGetHandleByIndex(i)
                self._handles.append((i, _text(nvml.nvmlDeviceGetName(handle)), handle))
        except nvml.NVMLError as err:
            self._handles = []
            self.note = f"GPU telemetry off: NVML failed ({_nvml_text(err)})"
            return
        if not self._handles:
            self.note = NO_GPU

    def gpus(self) -> tuple[GpuReading, ...]:
        if not self._opened:
            self._open()
        if self._nvml is None or not self._handles:
            return ()
        return tuple(self._read(i, name, handle) for i, name, handle in self._handles)

    def _read(self, index: int, name: str, handle: Any) -> GpuReading:
        nvml = self._nvml
        assert nvml is not None

        def ask(call: Callable[[], Any]) -> Any:
            try:
                return call()
            except nvml.NVMLError:  # not supported on this device, or lost since: that figure is unknown
                return None

        util = ask(lambda: nvml.nvmlDeviceGetUtilizationRates(handle))
        mem = ask(lambda: nvml.nvmlDeviceGetMemoryInfo(handle))
        temp = ask(lambda: nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU))
        power_mw = ask(lambda: nvml.nvmlDeviceGetPowerUsage(handle))
        return GpuReading(
            index=index,
            name=name,
            utilization_pct=float(util.gpu) if util is not None else None,
            memory_used_bytes=int(mem.used) if mem is not None else None,
            memory_total_bytes=int(mem.total) if mem is not None else None,
            temperature_c=float(temp) if temp is not None else None,
            power_w=power_mw / 1000.0 if power_mw is not None else None,
        )

    def close(self) -> None:
        if self._nvml is not None and self._handles:
            with contextlib.suppress(self._nvml.NVMLError):
                self._nvml.nvmlShutdown()
        self._handles = []


def _means_no_gpu(nvml: ModuleType, err: Exception) -> bool:
    """No NVIDIA library or driver on this machine: not a failure, just no GPU."""
    names = ("NVMLError_LibraryNotFound", "NVMLError_DriverNotLoaded")
    quiet = tuple(cls for cls in (getattr(nvml, n, None) for n in names) if cls)
    return bool(quiet) and isinstance(err, quiet)


def _nvml_text(err: Exception) -> str:
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0]


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


# ---------------------------------------------------------------- the probe


class HardwareProbe:
    """Reads the machine; `read()` returns the cached report while it is younger than `min_interval_s`.

    Thread-safe: the TUI reads it from a thread, the headless loop from the main one.
    `nvml`: the NVML module to use: `"pynvml"` (when installed), None (no GPU) or a fake in tests.
    `pid`: the root of the process tree whose RSS is summed (default: this process); `follow` adds
    another process's tree (a game following a battle another process runs: its trainer). Calling
    the probe reads it (`read`)."""

    def __init__(
        self,
        nvml: Any = "pynvml",
        *,
        pid: int | None = None,
        min_interval_s: float = MIN_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._nvml = _Nvml(_load_nvml() if nvml == "pynvml" else nvml)
        self._process = psutil.Process(pid or os.getpid())
        self._followed: psutil.Process | None = None
        self.min_interval_s = min_interval_s
        self._clock = clock
        self._lock = threading.Lock()
        self._last: HardwareReport | None = None
        self._last_at = 0.0
        self.probes = 0
        """Real probes so far (the cache answered the other reads)."""
        psutil.cpu_percent(interval=None)  # the first call only starts the measurement

    def __call__(self) -> HardwareReport:
        return self.read()

    def follow(self, pid: int | None) -> None:
        """Also sum the RSS of `pid`'s process tree (None, or a process gone: stop following)."""
        try:
            followed = psutil.Process(pid) if pid else None
        except psutil.Error:
            followed = None
        with self._lock:
            self._followed, self._last = followed, None  # the next read counts it

    @property
    def followed_pid(self) -> int | None:
        return self._followed.pid if self._followed is not None else None

    def read(self) -> HardwareReport:
        with self._lock:
            now = self._clock()
            if self._last is not None and now - self._last_at < self.min_interval_s:
                return self._last
            self._last = self._probe()
            self._last_at = now
            self.probes += 1
            return self._last

    def _probe(self) -> HardwareReport:
        gpus = self._nvml.gpus()
        ram = psutil.virtual_memory()
        return HardwareReport(
            at=time.time(),
            gpus=gpus,
            gpu_note=self._nvml.note,
            cpu_pct=float(psutil.cpu_percent(interval=None)),
            cpu_count=psutil.cpu_count() or 1,
            rss_bytes=self._tree_rss(),
            ram_used_bytes=int(ram.total - ram.available),
            ram_total_bytes=int(ram.total),
        )

    def _tree_rss(self) -> int:
        total = 0
        seen: set[int] = set()
        for root in (self._process, self._followed):
            if root is None or root.pid in seen:
                continue
            try:
                processes = [root, *root.children(recursive=True)]
            except psutil.Error:  # the followed battle ended: nothing of it to count
                processes = [root] if root is self._process else []
            for proc in processes:
                if proc.pid in seen:
                    continue
                seen.add(proc.pid)
                try:
                    total += proc.memory_info().rss
                except psutil.Error:  # a child that ended between the listing and the reading
                    continue
        return total

    def close(self) -> None:
        with self._lock:
            self._nvml.close()


# ---------------------------------------------------------------- text


def _gib(n: int | None) -> str:
    return "—" if n is None else f"{n / GIB:.1f}"


def gpu_line(gpu: GpuReading) -> str:
    """`GPU0 87% · 12.3/24.0 GiB · 71°C · 250 W` (a figure NVML did not give shows as —)."""
    util = "—" if gpu.utilization_pct is None else f"{gpu.utilization_pct:.0f}%"
    temp = "—" if gpu.temperature_c is None else f"{gpu.temperature_c:.0f}°C"
    power = "—" if gpu.power_w is None else f"{gpu.power_w:.0f} W"
    mem = f"{_gib(gpu.memory_used_bytes)}/{_gib(gpu.memory_total_bytes)} GiB"
    return f"GPU{gpu.index} {util} · {mem} · {temp} · {power}"


def cpu_line(report: HardwareReport) -> str:
    """`CPU 45% of 2 · RSS 3.2 GiB · RAM 12.0/23.0 GiB`."""
    return (
        f"CPU {report.cpu_pct:.0f}% of {report.cpu_count} · RSS {_gib(report.rss_bytes)} GiB · "
        f"RAM {_gib(report.ram_used_bytes)}/{_gib(report.ram_total_bytes)} GiB"
    )


def _short_gpu(gpu: GpuReading) -> str:
    util = "—" if gpu.utilization_pct is None else f"{gpu.utilization_pct:.0f}%"
    temp = "" if gpu.temperature_c is None else f" {gpu.temperature_c:.0f}°C"
    power = "" if gpu.power_w is None else f" {gpu.power_w:.0f}W"
    return f"GPU{gpu.index} {util} {_gib(gpu.memory_used_bytes)}/{_gib(gpu.memory_total_bytes)}G{temp}{power}"


def compact_line(report: HardwareReport) -> str:
    """One short line for the Tavern: `GPU0 87% 12.0/24.0G 71°C 250W · CPU 45% · RSS 3.0G · RAM 12.0/24.0G`."""
    gpus = " | ".join(_short_gpu(g) for g in report.gpus) if report.gpus else report.gpu_note
    return (
        f"{gpus} · CPU {report.cpu_pct:.0f}% · RSS {_gib(report.rss_bytes)}G · "
        f"RAM {_gib(report.ram_used_bytes)}/{_gib(report.ram_total_bytes)}G"
    )


# ---------------------------------------------------------------- the JSON stream


class TelemetryJsonSink:
    """Adds a `{"event": "Telemetry", ...}` line to the headless JSON stream at most every `every_s`
    seconds, on the battle's events (a sink: `on_event`, `close`). The trainer sends a few Step or
    EvalProgress events a second while it works, so the lines come every few seconds; while it
    loads a model and sends nothing, none come."""

    def __init__(
        self,
        out: TextIO,
        probe: HardwareProbe | None = None,
        *,
        every_s: float = JSON_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._out = out
        self._own_probe = probe is None
        self.probe = probe or HardwareProbe()
        self.every_s = every_s
        self._clock = clock
        self._at: float | None = None

    def on_event(self, event: object) -> None:
        if isinstance(event, Stopped):
            return  # `Stopped` stays the stream's last line: scripts read the ending there
        now = self._clock()
        if self._at is not None and now - self._at < self.every_s:
            return
        self._at = now
        line = {"event": "Telemetry", **self.probe.read().to_json()}
        print(json.dumps(line, ensure_ascii=False), file=self._out, flush=True)

    def close(self) -> None:
        if self._own_probe:
            self.probe.close()
