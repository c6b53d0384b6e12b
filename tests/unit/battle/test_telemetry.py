"""Hardware telemetry: the GPU path through a fake NVML (this machine has no GPU), the CPU path for real."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from types import SimpleNamespace
from typing import Any

import psutil
import pytest

from realm_tui.battle.telemetry import NO_GPU, HardwareProbe, compact_line, cpu_line, gpu_line


class FakeNVMLError(Exception):
    pass


class FakeNVMLLibraryNotFound(FakeNVMLError):
    pass


class FakeNVMLDriverMismatch(FakeNVMLError):
    pass


class FakeNVMLNotSupported(FakeNVMLError):
    pass


class FakeNvml:
    """A fake NVML module (pynvml's names) with two GPUs; the second does not report power.
    `init_error`: what nvmlInit raises (a missing library, a driver mismatch ...)."""

    NVMLError = FakeNVMLError
    NVMLError_LibraryNotFound = FakeNVMLLibraryNotFound
    NVMLError_DriverNotLoaded = type("FakeNVMLDriverNotLoaded", (FakeNVMLError,), {})
    NVML_TEMPERATURE_GPU = 0

    def __init__(self, init_error: Exception | None = None, count: int = 2) -> None:
        self.init_error = init_error
        self.count = count
        self.inits = 0
        self.shutdowns = 0

    def nvmlInit(self) -> None:
        self.inits += 1
        if self.init_error is not None:
            raise self.init_error

    def nvmlShutdown(self) -> None:
        self.shutdowns += 1

    def nvmlDeviceGetCount(self) -> int:
        return self.count

    def nvmlDeviceGetHandleByIndex(self, i: int) -> int:
        return i

    def nvmlDeviceGetName(self, handle: int) -> bytes:
        return b"Fake H200" if handle == 0 else b"Fake L4"

    def nvmlDeviceGetUtilizationRates(self, handle: int) -> Any:
        return SimpleNamespace(gpu=87 if handle == 0 else 3, memory=40)

    def nvmlDeviceGetMemoryInfo(self, handle: int) -> Any:
        return SimpleNamespace(used=12 * 2**30, total=141 * 2**30, free=129 * 2**30)

    def nvmlDeviceGetTemperature(self, handle: int, sensor: int) -> int:
        return 71 if handle == 0 else 40

    def nvmlDeviceGetPowerUsage(self, handle: int) -> int:
        if handle == 1:
            raise FakeNVMLNotSupported("Not Supported")
        return 250_500  # milliwatts


def test_gpu_figures_from_nvml() -> None:
    nvml = FakeNvml()
    report = HardwareProbe(nvml).read()
    assert report.gpu_note == ""
    first, second = report.gpus
    assert first.name == "Fake H200" and first.utilization_pct == 87 and first.temperature_c == 71
    assert first.memory_used_bytes == 12 * 2**30 and first.memory_total_bytes == 141 * 2**30
    assert first.power_w == pytest.approx(250.5)
    assert second.power_w is None and second.utilization_pct == 3  # one figure missing, the rest read
    assert gpu_line(first) == "GPU0 87% · 12.0/141.0 GiB · 71°C · 250 W"
    assert gpu_line(second).endswith("40°C · —")
    assert nvml.inits == 1


def test_no_nvidia_library_says_no_gpu_and_reads_the_cpu() -> None:
    report = HardwareProbe(FakeNvml(FakeNVMLLibraryNotFound("NVML Shared Library Not Found"))).read()
    assert report.gpus == () and report.gpu_note == NO_GPU
    assert report.cpu_count >= 1 and report.ram_total_bytes > 0
    assert compact_line(report).startswith("no GPU · CPU ")


def test_zero_devices_is_no_gpu() -> None:
    assert HardwareProbe(FakeNvml(count=0)).read().gpu_note == NO_GPU


def test_failing_nvml_gives_one_clear_line() -> None:
    """NVML present but broken (driver/library mismatch, no permission): a line saying so, no crash."""
    nvml = FakeNvml(FakeNVMLDriverMismatch("Driver/library version mismatch"))
    probe = HardwareProbe(nvml, min_interval_s=0)
    report = probe.read()
    assert report.gpus == ()
    assert report.gpu_note == "GPU telemetry off: NVML failed (Driver/library version mismatch)"
    probe.read()
    assert nvml.inits == 1  # not retried on every probe
    assert report.cpu_count >= 1


def test_this_machine_without_nvidia_says_no_gpu() -> None:
    """The real pynvml on this machine (no NVIDIA library): "no GPU", CPU figures present."""
    report = HardwareProbe().read()
    if report.gpus:
        pytest.skip("this machine has a GPU")
    assert report.gpu_note == NO_GPU


def test_cpu_figures_are_real_and_count_the_children() -> None:
    probe = HardwareProbe(None, min_interval_s=0)
    alone = probe.read().rss_bytes
    own = psutil.Process(os.getpid()).memory_info().rss
    assert alone >= own * 0.5  # the process itself (RSS moves a little between two readings)
    # A child that holds ~200 MiB shows up in the tree's RSS.
    code = "import sys, time; b = bytearray(200 * 2**20); print('ready', flush=True); sys.stdin.read()"
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        report = probe.read()
    finally:
        child.communicate("", timeout=30)
    assert report.rss_bytes >= alone + 150 * 2**20
    assert 0.0 <= report.cpu_pct <= 100.0
    assert 0 < report.ram_used_bytes < report.ram_total_bytes
    assert "CPU " in cpu_line(report) and "RAM " in cpu_line(report)


def test_reads_are_cached_for_the_interval() -> None:
    now = [100.0]
    probe = HardwareProbe(None, min_interval_s=2.0, clock=lambda: now[0])
    first = probe.read()
    now[0] += 1.0
    assert probe.read() is first and probe.probes == 1
    now[0] += 1.5
    assert probe.read() is not first and probe.probes == 2


def test_report_is_plain_json() -> None:
    report = HardwareProbe(FakeNvml()).read()
    data = json.loads(json.dumps(report.to_json()))
    assert data["gpus"][0]["utilization_pct"] == 87 and data["gpu_note"] == ""
    assert data["ram_total_bytes"] == report.ram_total_bytes


def test_json_lines_come_at_most_every_interval() -> None:
    import io

    from realm_tui.battle.telemetry import TelemetryJsonSink

    now = [0.0]
    out = io.StringIO()
    sink = TelemetryJsonSink(out, HardwareProbe(FakeNvml(), min_interval_s=0), every_s=5.0, clock=lambda: now[0])
    for t in (0.0, 1.0, 4.9, 5.0, 6.0, 10.5):
        now[0] = t
        sink.on_event(object())
    sink.close()
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) == 3  # at 0, 5 and 10.5 s
    assert all(line["event"] == "Telemetry" for line in lines)
    assert lines[0]["gpus"][0]["name"] == "Fake H200" and lines[0]["cpu_count"] >= 1


def test_no_line_follows_the_battles_end() -> None:
    """`Stopped` is the JSON stream's last line (a full-suite run caught a Telemetry line after it)."""
    import io

    from realm_tui.battle.telemetry import TelemetryJsonSink
    from realm_tui.contract.protocol import Stopped

    now = [0.0]
    out = io.StringIO()
    sink = TelemetryJsonSink(out, HardwareProbe(FakeNvml(), min_interval_s=0), every_s=5.0, clock=lambda: now[0])
    sink.on_event(object())
    now[0] = 60.0
    sink.on_event(Stopped(3, "crashed", None))
    sink.close()
    assert len(out.getvalue().splitlines()) == 1


def test_a_followed_process_tree_counts_in_the_rss() -> None:
    """A game following another process's battle sums that process tree too (its trainer's RSS)."""
    code = "import sys; b = bytearray({mib} * 2**20); print('ready', flush=True); sys.stdin.read()"
    small, big = (
        subprocess.Popen(
            [sys.executable, "-c", code.format(mib=mib)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        for mib in (0, 200)
    )
    try:
        assert small.stdout is not None and small.stdout.readline().strip() == "ready"
        assert big.stdout is not None and big.stdout.readline().strip() == "ready"
        probe = HardwareProbe(None, pid=small.pid, min_interval_s=60)  # not this process: another tree
        alone = probe().rss_bytes
        probe.follow(big.pid)
        assert probe.followed_pid == big.pid
        followed = probe().rss_bytes  # following drops the cached reading
        probe.follow(None)
        back = probe().rss_bytes
    finally:
        for proc in (small, big):
            proc.communicate("", timeout=30)
    assert followed >= alone + 150 * 2**20, (alone, followed)
    assert back < followed - 150 * 2**20, (back, followed)
