"""Weights & Biases for a battle, when the player asks (`realm train --report-to wandb`) and has it.

The same records as the TensorBoard sink (`battle.scalars.EventScalars`: same tags, the battle's
absolute steps), logged to one W&B run per battle, grouped by campaign. wandb is an optional extra
(`pip install 'realm-tui[wandb]'`) and is imported here only, in the parent, when the sink opens:
never at `realm --help`, never in the trainer child. Offline mode (`WANDB_MODE=offline`) writes
the run under `WANDB_DIR` (default `saves/`, so `saves/wandb/`) without a network; `wandb sync`
uploads it later.

Like every watcher, W&B never stops a battle: wandb missing, no API key, a failing init or log is
one clear line in the battle log, and the sink turns itself off.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from realm_tui.battle.scalars import EventScalars, Scalar
from realm_tui.contract.protocol import Event, Stopped

PROJECT = "realm-of-training"
"""The W&B project of every battle (WANDB_PROJECT overrides it)."""
MISSING = "W&B not installed: pip install 'realm-tui[wandb]'"

Say = Callable[[str], None]


def missing_line(tensorboard: bool) -> str:
    """The one line of a battle asked to log to W&B without wandb installed."""
    return f"{MISSING}; " + ("logging to TensorBoard only" if tensorboard else "no W&B logs")


def _needs_login(wandb: Any) -> bool:
    """Online without an API key: wandb.init would ask for one on the terminal (the TUI's, or a
    headless battle's stdin), so the sink says so instead."""
    mode = os.environ.get("WANDB_MODE", "").strip().lower()
    if mode in ("offline", "disabled", "dryrun"):
        return False
    if os.environ.get("WANDB_API_KEY"):
        return False
    try:
        with contextlib.redirect_stderr(io.StringIO()):  # its "logged in as" line is not the battle's
            return not wandb.login(prompt=False, verify=False)  # no prompt, no network
    except Exception:  # an unreadable netrc: let init decide
        return False


class WandbSink:
    """Logs one battle's events to a W&B run; `tensorboard`: whether TensorBoard logs too (for the
    wording of a missing-wandb line)."""

    def __init__(
        self,
        saves: Path,
        campaign_id: str,
        *,
        say: Say,
        strain: Callable[[], float | None] | None = None,
        config: dict[str, Any] | None = None,
        tensorboard: bool = True,
    ) -> None:
        self._say = say
        self._records = EventScalars(strain)
        self._run: Any = None
        self._table: Any = None
        self.error = ""
        """Why the sink is off ("" while it logs)."""
        try:
            import wandb
        except ImportError:
            self._off(missing_line(tensorboard))
            return
        if _needs_login(wandb):
            self._off("W&B logs off: no API key (run `wandb login`, or set WANDB_MODE=offline); the battle goes on")
            return
        try:
            folder = Path(os.environ.get("WANDB_DIR") or saves)  # wandb writes into <folder>/wandb/
            folder.mkdir(parents=True, exist_ok=True)
            self._run = wandb.init(
                project=os.environ.get("WANDB_PROJECT") or PROJECT,
                group=campaign_id,
                job_type="battle",
                dir=str(folder),
                config=dict(config or {}),
                # console off: wandb must not wrap the terminal (the TUI's screen, the JSON stream)
                settings=wandb.Settings(console="off", silent=True),
            )
            self._table = wandb.Table
        except Exception as err:
            self._off(f"W&B logs off: wandb.init failed ({_short(err)}); the battle goes on")

    @property
    def active(self) -> bool:
        return self._run is not None

    @property
    def run_dir(self) -> Path | None:
        """The run's own folder (offline: `<WANDB_DIR>/wandb/offline-run-…`)."""
        return Path(self._run.dir).parent if self._run is not None else None

    def _off(self, line: str) -> None:
        self.error = line
        self._say(line)
        run, self._run = self._run, None
        if run is not None:
            with contextlib.suppress(Exception):  # already failing; the line above says so
                run.finish(exit_code=1)

    def on_event(self, event: Event) -> None:
        if self._run is None:
            return
        try:
            self._log(event)
        except Exception as err:
            self._off(f"W&B logs stopped: logging failed ({_short(err)}); the battle goes on")

    def _log(self, event: Event) -> None:
        by_step: dict[int, dict[str, Any]] = {}
        for record in self._records.of(event):
            row = by_step.setdefault(record.step, {})
            if isinstance(record, Scalar):
                row[record.tag] = record.value
            else:
                row[record.tag] = self._table(columns=["answers"], data=[[record.markdown]])
        for step, row in sorted(by_step.items()):
            self._run.log(row, step=step)
        if isinstance(event, Stopped):
            self._run.summary["stop_reason"] = str(event.reason)

    def close(self) -> None:
        run, self._run = self._run, None
        if run is None:
            return
        try:
            run.finish()
        except Exception as err:
            self.error = f"W&B: closing the run failed ({_short(err)})"
            self._say(self.error)


def _short(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[-1] if text else type(err).__name__
