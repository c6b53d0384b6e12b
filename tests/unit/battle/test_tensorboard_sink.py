"""The TensorBoard sink over real contract events, read back with tensorboard's EventAccumulator."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from realm_tui.battle.tensorboard_sink import TensorBoardSink, run_dir, samples_markdown
from realm_tui.contract.protocol import CheckpointSaved, EvalResult, Hello, Step, Stopped
from realm_tui.paths import RealmPaths


def read_back(logdir: Path) -> EventAccumulator:
    acc = EventAccumulator(str(logdir), size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    return acc


def scalars(acc: EventAccumulator, tag: str) -> list[tuple[int, float]]:
    return [(e.step, e.value) for e in acc.Scalars(tag)]


def step(n: int, loss: float, **extra: object) -> Step:
    return Step(
        step=n, max_steps=10, loss=loss, lr=1e-3 * n, grad_norm=0.5, tokens_per_s=1000.0 + n, eta_s=1.0, tokens=64 * n,
        **extra,  # type: ignore[arg-type]
    )  # fmt: skip


RESULTS = (
    {"prompt": "1+1=", "expected": "10", "got": "10", "correct": True},
    {"prompt": "1+0=", "expected": "1", "got": "11 | x", "correct": False},
    {"prompt": "0+0=", "expected": "0", "got": "0", "correct": True},
)


def test_events_become_scalars_and_text(tmp_path: Path) -> None:
    said: list[str] = []
    strain = iter([0.25, 0.2, math.nan])
    sink = TensorBoardSink(tmp_path / "run", say=said.append, strain=lambda: next(strain))
    sink.on_event(Hello(pid=1, torch_version="x", device="cpu", precision="fp32"))
    sink.on_event(step(1, 2.0, metrics={"dpo_margin": 0.4}, quest_progress=0.1))
    sink.on_event(step(2, 1.5))
    sink.on_event(EvalResult(step=2, skill="bin", level=1, accuracy=0.5, total=3, results=RESULTS, val_loss=0.7))
    sink.on_event(CheckpointSaved(2, "p", "ckpt-2", 1.5, 1.4, 2e-3, 10))  # the battle's val loss (DEF's)
    sink.on_event(CheckpointSaved(2, "p", "ckpt-2", 1.5, 1.4, 2e-3, 10))  # the same step again: logged once
    sink.on_event(step(3, math.nan))  # a non-finite loss is not plotted
    sink.on_event(Stopped(step=3, reason="finished"))
    sink.close()
    assert said == []
    acc = read_back(tmp_path / "run")
    assert scalars(acc, "loss/train") == [(1, 2.0), (2, 1.5)]
    assert [(s, round(v, 6)) for s, v in scalars(acc, "train/lr")] == [(1, 0.001), (2, 0.002), (3, 0.003)]
    assert scalars(acc, "train/tokens_per_s") == [(1, 1001.0), (2, 1002.0), (3, 1003.0)]
    assert scalars(acc, "train/grad_norm")[0] == (1, 0.5)
    assert [(s, round(v, 6)) for s, v in scalars(acc, "train/strain")] == [(1, 0.25), (2, 0.2)]
    assert [(s, round(v, 6)) for s, v in scalars(acc, "school/dpo_margin")] == [(1, 0.4)]
    assert [(s, round(v, 6)) for s, v in scalars(acc, "loss/val")] == [(2, 1.4)]
    assert [(s, round(v, 6)) for s, v in scalars(acc, "loss/eval/bin/L1")] == [(2, 0.7)]  # not the val line
    assert scalars(acc, "accuracy/bin/L1") == [(2, 0.5)]
    (text,) = acc.Tensors("answers/bin/L1/text_summary")
    table = text.tensor_proto.string_val[0].decode()
    assert text.step == 2 and "**BIN L1** at step 2: 50% of 3" in table
    rows = [line for line in table.splitlines() if line.startswith("| ✓") or line.startswith("| ✗")]
    assert rows[0] == "| ✗ | 1+0= | 1 | 11 \\| x |"  # wrong answers first, pipes escaped
    assert len(rows) == 3


def test_samples_prefer_wrong_answers() -> None:
    many = tuple({"prompt": f"p{i}", "expected": "1", "got": "0", "correct": i % 3 != 0} for i in range(30))
    table = samples_markdown(EvalResult(step=1, skill="sy", level=2, accuracy=0.6, total=30, results=many), shown=5)
    rows = [line for line in table.splitlines() if line.startswith("| ✓") or line.startswith("| ✗")]
    assert len(rows) == 5 and all(r.startswith("| ✗") for r in rows)


def test_a_folder_that_cannot_be_written_gives_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "runs"
    blocker.write_text("a file where the runs folder should be")
    said: list[str] = []
    sink = TensorBoardSink(blocker / "campaign", say=said.append)
    assert not sink.active
    for n in (1, 2, 3):
        sink.on_event(step(n, 1.0))
    sink.close()
    assert len(said) == 1
    assert said[0].startswith(f"TensorBoard logs off: cannot write {blocker / 'campaign'}")
    assert said[0].endswith("the battle goes on")


class FullDiskWriter:
    """A fake event writer whose disk filled up (the fault a real battle can meet mid-way)."""

    def write_event(self, event: object) -> None:
        raise OSError(28, "No space left on device")

    def flush(self) -> None:
        raise OSError(28, "No space left on device")

    def close(self) -> None:
        raise OSError(28, "No space left on device")


def test_a_write_that_fails_mid_battle_stops_the_sink_with_one_line(tmp_path: Path) -> None:
    said: list[str] = []
    sink = TensorBoardSink(tmp_path / "run", say=said.append)
    sink.on_event(step(1, 1.0))
    sink._writer = FullDiskWriter()  # the disk fills up between two steps
    for n in (2, 3, 4):
        sink.on_event(step(n, 1.0))
    sink.close()
    assert len(said) == 1 and "No space left on device" in said[0] and "the battle goes on" in said[0]


def test_run_dir_stays_inside_the_runs_folder(tmp_path: Path) -> None:
    realm = RealmPaths(tmp_path)
    assert run_dir(realm, "tiny-20261204-221436") == tmp_path / "saves" / "runs" / "tiny-20261204-221436"
    assert run_dir(realm, "../../etc").parent == tmp_path / "saves" / "runs"


def test_tensorboardx_loads_without_torch_and_leaves_torch_importable() -> None:
    code = (
        "import sys, importlib.util, json\n"
        "from realm_tui.battle.tensorboard_sink import load_tensorboardx\n"
        "load_tensorboardx()\n"
        "print(json.dumps([sorted(m for m in sys.modules if m.split('.')[0] == 'torch'),"
        " 'tensorboardX' in sys.modules, importlib.util.find_spec('torch') is not None]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    torch_modules, loaded, findable = json.loads(out.stdout.strip().splitlines()[-1])
    assert torch_modules == [] and loaded and findable
