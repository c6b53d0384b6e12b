"""A battle on many processes, driven by the parent like any other: `realm train --no-ui --launch CMD`.

`LaunchedBridge` has `TrainerBridge`'s interface. Instead of one spawned child it runs

    CMD -m realm_tui.trainer.entry.distributed --job saves/jobs/<campaign>-<step>.json

where CMD is a launcher such as `accelerate launch --config_file configs/accelerate/ddp.yaml` or
`torchrun --nproc_per_node 8`. Rank 0 prints the battle's events as JSON lines on its stdout;
this bridge turns them back into protocol events for the conductor, so the parent stays the only
writer of the store (ledger, campaign, quests) exactly as in a one-process battle. Stop is sent as
SIGINT to the launcher (accelerate and torchrun forward it to every rank; the ranks agree on the
step to stop at, checkpoint, and exit). Other commands (evaluate, curriculum changes) cannot reach
a launched battle and are dropped with a warning: its evals run on the job's own cadence.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import queue
import shlex
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from realm_tui.contract.job_json import job_to_json
from realm_tui.contract.protocol import (
    EVENT_TYPES,
    Command,
    Error,
    ErrorKind,
    Event,
    Log,
    Stop,
    Stopped,
    StopReason,
    TrainJob,
)
from realm_tui.errors import InputError

_EVENTS = {cls.__name__: cls for cls in EVENT_TYPES}
DISTRIBUTED_ENTRY = "realm_tui.trainer.entry.distributed"
"""The module every rank runs (`-m`), named by string: the parent never imports it."""


def event_from_dict(data: dict[str, Any]) -> Event | None:
    """The inverse of `event_json.event_to_dict`; None for anything that is not an event."""
    cls = _EVENTS.get(str(data.get("event")))
    if cls is None:
        return None
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        kind = str(f.type)
        if kind.startswith("tuple") and isinstance(value, list):
            value = tuple(value)
        elif "float" in kind and isinstance(value, str):
            try:
                value = float(value)  # "nan" / "inf" were written as strings
            except ValueError:
                value = math.nan
        kwargs[f.name] = value
    event: Event = cls(**kwargs)
    return event


def write_job(job: TrainJob, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{job.campaign_id or job.hero_id}-{job.max_steps}.json"
    path = folder / name
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(job_to_json(job), encoding="utf-8")
    os.replace(tmp, path)
    return path


class LaunchedBridge:
    """`TrainerBridge` for a launcher command (accelerate launch, torchrun)."""

    def __init__(self, launcher: str, jobs_dir: Path) -> None:
        self.argv = shlex.split(launcher)
        if not self.argv:
            raise InputError(None, "--launch needs a launcher command, e.g. 'accelerate launch --config_file F'")
        self.jobs_dir = Path(jobs_dir)
        self._proc: subprocess.Popen[str] | None = None
        self._queue: queue.Queue[Event | None] = queue.Queue()
        self._finished = False
        self._warned = False
        self.exitcode: int | None = None
        self.job_path: Path | None = None

    def start(self, job: TrainJob) -> None:
        path = self.job_path = write_job(job, self.jobs_dir)
        cmd = [*self.argv, "-m", DISTRIBUTED_ENTRY, "--job", str(path)]
        try:
            self._proc = subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=None, text=True, bufsize=1, start_new_session=True
            )
        except OSError as err:
            raise InputError(None, f"cannot run the launcher {self.argv[0]!r}: {err}") from err
        threading.Thread(target=self._read, name="realm-launched-events", daemon=True).start()

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            event = None
            if line.startswith("{"):
                try:
                    event = event_from_dict(json.loads(line))
                except (ValueError, TypeError):
                    event = None
            if event is None:
                sys.stderr.write(line)  # the launcher's own output
                continue
            self._queue.put(event)
        self._queue.put(None)  # EOF: every rank has exited or rank 0 closed its stdout

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None and not self._finished

    def send(self, command: Command) -> bool:
        if self._proc is None or self._finished:
            return False
        if isinstance(command, Stop):
            return self._signal(signal.SIGINT)
        if not self._warned:
            self._warned = True
            self._queue.put(
                Log(f"{type(command).__name__} cannot reach a launched battle; evals follow its own cadence", "warning")
            )
        return False

    def stop(self, reason: StopReason = StopReason.REQUESTED) -> bool:
        return self.send(Stop(reason=reason))

    def _signal(self, sig: int) -> bool:
        if self._proc is None or self._proc.poll() is not None:
            return False
        try:
            os.killpg(self._proc.pid, sig)  # the launcher and every rank it started
        except OSError:
            return False
        return True

    def events(self, timeout: float = 0.1) -> list[Event]:
        if self._proc is None or self._finished:
            return []
        out: list[Event] = []
        try:
            item = self._queue.get(timeout=timeout)
            while True:
                if item is None:
                    return self._ended(out)
                out.append(item)
                item = self._queue.get_nowait()
        except queue.Empty:
            pass
        if any(isinstance(e, Stopped) for e in out):
            self._reap(30.0)
        return out

    def _ended(self, out: list[Event]) -> list[Event]:
        self._reap(30.0)
        if not any(isinstance(e, Stopped) for e in out):
            code = self.exitcode
            how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
            out.append(Error(f"the launched trainer ended without a report ({how})", fatal=True, kind=ErrorKind.CRASH))
            out.append(Stopped(step=-1, reason=StopReason.CRASHED))
        return out

    def _reap(self, timeout: float) -> None:
        assert self._proc is not None
        try:
            self.exitcode = self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            self.exitcode = self._proc.wait(10)
        self._finished = True

    def kill(self) -> None:
        self._signal(signal.SIGKILL)

    def close(self, grace: float = 30.0) -> None:
        if self._proc is None or self._finished:
            return
        self.stop(StopReason.CLOSING)
        try:
            self._proc.wait(grace)
        except subprocess.TimeoutExpired:
            self.kill()
        self._reap(5.0)
