"""`realm train --no-ui` into a pipe or a file prints plain progress lines (step, loss, tokens/s,
ETA, current job): `| tee`, `nohup` and the game's `saves/headless.log` show the battle moving."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess

import yaml
from battle_kit import child_env, realm_cmd

from realm_tui.battle.launched import event_from_dict
from realm_tui.battle.plain_render import HEARTBEAT_S, PlainRenderer
from realm_tui.contract.protocol import CheckpointProgress, CheckpointSaved, EvalProgress, Step, StepProgress
from realm_tui.paths import RealmPaths
from realm_tui.ui.game import launch_headless

PROGRESS = re.compile(r"^progress: step (\d+)/(\d+) · loss \d+\.\d{4} · [\d,]+ tok/s · ETA \S+ · .*job: \w+")


def _progress_steps(lines: list[str]) -> list[int]:
    return [int(m.group(1)) for m in map(PROGRESS.match, lines) if m]


def test_progress_lines_arrive_through_a_pipe(tiny_realm: RealmPaths) -> None:
    proc = subprocess.Popen(
        realm_cmd(tiny_realm, "train", "--no-ui", "--hero", "tiny", "--steps", "12"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=child_env(),
    )
    assert proc.stdout is not None
    lines: list[str] = []
    first_progress_at_stop = None
    for line in proc.stdout:  # read as the lines arrive, not after the end
        lines.append(line.rstrip("\n"))
        if line.startswith("progress: step") and first_progress_at_stop is None:
            first_progress_at_stop = any(x.startswith("■ battle stopped") for x in lines)
    assert proc.wait(timeout=240) == 0, "\n".join(lines)
    assert first_progress_at_stop is False  # progress showed while the battle ran
    steps = _progress_steps(lines)
    assert steps and steps == sorted(steps) and steps[-1] == 12, "\n".join(lines)
    assert not any("\x1b[" in x or "━" in x for x in lines)  # no terminal codes, no bar glyphs
    stop = next(i for i, x in enumerate(lines) if x.startswith("■ battle stopped at step 12 (finished)"))
    assert max(i for i, x in enumerate(lines) if PROGRESS.match(x)) < stop
    assert any(x.startswith("💾 checkpoint-") for x in lines)

    # The game's "keep training headless": the same plain lines in saves/headless.log
    pid = launch_headless(tiny_realm)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    log = (tiny_realm.saves / "headless.log").read_text().splitlines()
    assert _progress_steps(log)[-1] == 20, "\n".join(log)  # up to the next hero level (10 steps a level)
    assert any(x.startswith("■ battle stopped at step 20") for x in log)


class FakeClock:
    """Time that moves only when the test says so (a fake for the wall clock)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _step(n: int) -> Step:
    return Step(step=n, max_steps=100, loss=0.5, lr=1e-3, grad_norm=1.0, tokens_per_s=1234.0, eta_s=90.0, tokens=1)


def test_heartbeat_when_no_step_arrives() -> None:
    out, clock = io.StringIO(), FakeClock()
    renderer = PlainRenderer(out, clock)
    renderer.show(_step(1), [])
    assert out.getvalue().splitlines()[-1].startswith("progress: step 1/100 · loss 0.5000 · 1,234 tok/s · ETA 1m30s")
    renderer.show(_step(2), [])  # too soon after the last progress line: no new one
    assert len(out.getvalue().splitlines()) == 1
    renderer.set_job("eval BIN L1 37/100")
    renderer.tick()
    assert len(out.getvalue().splitlines()) == 1
    clock.now += HEARTBEAT_S
    renderer.tick()  # nothing printed for a while: a line anyway, naming the job in flight
    last = out.getvalue().splitlines()[-1]
    assert last.startswith("progress: step 2/100") and "last step 8 s ago" in last
    assert last.endswith("job: eval BIN L1 37/100 (8 s)")
    renderer.show(CheckpointSaved(2, "/x", "checkpoint-2", 0.5, 0.6, 1e-3, 2**20), [])
    assert out.getvalue().splitlines()[-1] == "💾 checkpoint-2 at step 2 (loss 0.5000, val 0.6000, 1.0 MiB)"


def test_an_eval_in_flight_is_the_job_of_the_progress_lines() -> None:
    out, clock = io.StringIO(), FakeClock()
    renderer = PlainRenderer(out, clock)
    renderer.show(_step(50), [])
    clock.now += 6
    renderer.show(EvalProgress("sy", 1, 50, 0, 100, None), [])
    assert out.getvalue().splitlines()[-1].endswith("job: eval sy L1 0/100")
    clock.now += 6
    renderer.show(EvalProgress("sy", 1, 50, 40, 100, 9.0), [])
    assert out.getvalue().splitlines()[-1].endswith("job: eval sy L1 40/100 ETA 9s (6 s)")
    renderer.show(EvalProgress("sy", 1, 50, 60, 100, 6.0, cut_short=True), [])
    assert out.getvalue().splitlines()[-1] == "! eval sy L1 ended at 60/100 (not counted)"
    clock.now += HEARTBEAT_S
    renderer.tick()
    assert "job: training" in out.getvalue().splitlines()[-1]


def test_a_long_step_shows_its_micro_batches_in_the_progress_line() -> None:
    out, clock = io.StringIO(), FakeClock()
    renderer = PlainRenderer(out, clock)
    renderer.show(_step(402), [])
    clock.now += 2
    renderer.show(StepProgress(403, 2, 8, 1800, 7702), [])  # too soon after the last line: kept
    assert len(out.getvalue().splitlines()) == 1
    clock.now += 4
    renderer.show(StepProgress(403, 3, 8, 2891, 7702), [])
    last = out.getvalue().splitlines()[-1]
    assert last.startswith("progress: step 402/100") and "step 403 3/8 (2,891/7,702 tokens)" in last
    assert "last step 6 s ago" in last
    clock.now += 6
    renderer.show(_step(403), [])  # the step arrived: its micro-batches are no longer shown
    assert "step 403 3/8" not in out.getvalue().splitlines()[-1]


def test_a_checkpoint_being_saved_is_the_job_of_the_progress_lines() -> None:
    out, clock = io.StringIO(), FakeClock()
    renderer = PlainRenderer(out, clock)
    renderer.show(_step(200), [])
    clock.now += 6
    renderer.show(CheckpointProgress(200, "val sy"), [])
    assert out.getvalue().splitlines()[-1].endswith("job: checkpoint 200: val sy")
    clock.now += 2
    renderer.show(CheckpointProgress(200, "val sy", 3, 8), [])  # too soon after the last line: kept
    assert len(out.getvalue().splitlines()) == 2
    clock.now += 4
    renderer.show(CheckpointProgress(200, "writing optimizer"), [])
    assert out.getvalue().splitlines()[-1].endswith("job: checkpoint 200: writing optimizer (6 s)")
    clock.now += HEARTBEAT_S
    renderer.tick()  # a write that takes long: the heartbeat line still names it
    assert "job: checkpoint 200: writing optimizer" in out.getvalue().splitlines()[-1]
    renderer.show(CheckpointSaved(200, "/x", "checkpoint-200", 0.5, 0.6, 1e-3, 2**20), [])
    clock.now += HEARTBEAT_S
    renderer.tick()
    assert "job: training" in out.getvalue().splitlines()[-1]


def test_step_progress_reaches_a_pipe(tiny_realm: RealmPaths) -> None:
    """The real trainer, a hero whose steps are cut into tiny micro-batches and reported at once:
    `--json` into a pipe carries StepProgress lines, each before the Step that ends it, and they
    read back as events (`battle.launched.event_from_dict`). The last checkpoint's save sends
    CheckpointProgress lines (its val pass, its writes) before its CheckpointSaved."""
    hero_file = tiny_realm.configs / "heroes" / "tiny.yaml"
    hero = yaml.safe_load(hero_file.read_text())
    hero["training_defaults"].update({"micro_batch_tokens": 24, "step_progress_after_s": 0.0})
    hero_file.write_text(yaml.safe_dump(hero, allow_unicode=True))
    run = subprocess.run(
        realm_cmd(tiny_realm, "train", "--no-ui", "--json", "--hero", "tiny", "--steps", "3"),
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    events = [json.loads(x) for x in run.stdout.splitlines() if x.startswith("{")]
    kinds = [e["event"] for e in events]
    assert "StepProgress" in kinds, kinds
    for i, event in enumerate(events):
        if event["event"] == "StepProgress":
            back = event_from_dict(event)
            assert isinstance(back, StepProgress) and 1 <= back.done < back.total
            following = next(e for e in events[i:] if e["event"] == "Step")
            assert following["step"] == back.step  # the Step that ends it
    saved = next(i for i, e in enumerate(events) if e["event"] == "CheckpointSaved")
    saving = [event_from_dict(e) for e in events[:saved] if e["event"] == "CheckpointProgress"]
    assert saving and all(isinstance(p, CheckpointProgress) and p.step == 3 for p in saving), kinds
    stages = [p.stage for p in saving if isinstance(p, CheckpointProgress)]
    assert stages[0].startswith("val ") and "writing optimizer" in stages, stages
