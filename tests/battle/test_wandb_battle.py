"""`realm train --report-to tensorboard,wandb`: a real tiny battle in W&B offline mode writes an
offline run whose history holds the same scalars as its TensorBoard files; with wandb missing (a
fake `wandb` package on PYTHONPATH whose import fails) the battle says one line and goes on."""

from __future__ import annotations

import json
import os
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from battle_kit import child_env, realm_cmd
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from realm_tui.battle.tensorboard_sink import run_dir
from realm_tui.paths import RealmPaths

pytest.importorskip("wandb", reason="the wandb extra is not installed (pip install 'realm-tui[wandb]')")

BLOCK = 32768
"""W&B's run file is a LevelDB-style log: 32 KiB blocks of records, each with a 7-byte header."""


def wandb_records(path: Path) -> Iterator[bytes]:
    """The raw records of an offline run file (`run-<id>.wandb`), read the way wandb writes them."""
    data = path.read_bytes()
    assert data[:4] == b":W&B", data[:7]
    pos, pending = 7, b""
    while pos + 7 <= len(data):
        room = BLOCK - pos % BLOCK
        if room < 7:  # the block's tail is padding
            pos += room
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        if length == 0 and kind == 0:
            pos += room
            continue
        chunk, pos = data[pos + 7 : pos + 7 + length], pos + 7 + length
        if kind == 1:  # a whole record
            yield chunk
        elif kind == 2:  # first, middle, last pieces of a long one
            pending = chunk
        elif kind == 3:
            pending += chunk
        elif kind == 4:
            yield pending + chunk


def wandb_history(run_file: Path) -> list[dict[str, Any]]:
    from wandb.proto import wandb_internal_pb2 as pb

    rows = []
    for raw in wandb_records(run_file):
        record = pb.Record()
        record.ParseFromString(raw)
        if record.WhichOneof("record_type") == "history":
            rows.append({(i.key or "/".join(i.nested_key)): json.loads(i.value_json) for i in record.history.item})
    return rows


def train(realm: RealmPaths, env: dict[str, str], *args: str) -> tuple[int, list[dict[str, Any]], str]:
    out = subprocess.run(
        realm_cmd(realm, "train", "--no-ui", "--json", "--hero", "tiny", *args),
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    events = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    assert events, out.stderr
    return out.returncode, events, out.stdout


def campaign_of(events: list[dict[str, Any]]) -> str:
    line = next(e["text"] for e in events if e["event"] == "Message" and "campaign" in e["text"])
    return str(line.split("campaign ")[1].split(",")[0])


def test_offline_wandb_run_holds_the_tensorboard_scalars(tiny_realm: RealmPaths, tmp_path: Path) -> None:
    env = {**child_env(), "WANDB_MODE": "offline", "WANDB_DIR": str(tmp_path / "wb"), "WANDB_SILENT": "true"}
    env.pop("WANDB_API_KEY", None)
    code, events, stdout = train(tiny_realm, env, "--steps", "6", "--report-to", "tensorboard,wandb")
    assert code == 0
    assert not [line for line in stdout.splitlines() if not line.startswith("{")], "wandb wrote into the JSON stream"
    assert not [e for e in events if e["event"] == "Message" and "W&B" in e["text"]]

    (run_file,) = (tmp_path / "wb").glob("wandb/offline-run-*/run-*.wandb")
    rows = wandb_history(run_file)
    logged: dict[str, dict[int, float]] = {}
    tables: set[str] = set()
    for row in rows:
        for key, value in row.items():
            if key.startswith("answers/"):  # the sample answers: a W&B table (its size fields are numbers)
                tables.add("/".join(key.split("/")[:3]))
            elif not key.startswith("_") and isinstance(value, int | float):
                logged.setdefault(key, {})[int(row["_step"])] = float(value)
    steps = [e for e in events if e["event"] == "Step"]
    assert sorted(logged["loss/train"]) == [e["step"] for e in steps]
    for e in steps:
        assert logged["loss/train"][e["step"]] == pytest.approx(e["loss"], rel=1e-6)
        assert logged["train/lr"][e["step"]] == pytest.approx(e["lr"], rel=1e-6)
    evals = [e for e in events if e["event"] == "EvalResult"]
    assert evals
    for e in evals:
        assert logged[f"accuracy/{e['skill']}/L{e['level']}"][e["step"]] == pytest.approx(e["accuracy"])
        assert f"answers/{e['skill']}/L{e['level']}" in tables

    acc = EventAccumulator(str(run_dir(tiny_realm, campaign_of(events))), size_guidance={"scalars": 0})
    acc.Reload()
    assert set(acc.Tags()["scalars"]) == set(logged), "W&B and TensorBoard log the same scalars"
    for tag in acc.Tags()["scalars"]:
        assert {s.step: pytest.approx(s.value, rel=1e-5) for s in acc.Scalars(tag)} == logged[tag]


def test_wandb_missing_is_one_line_and_the_battle_goes_on(tiny_realm: RealmPaths, tmp_path: Path) -> None:
    shim = tmp_path / "fake_wandb_missing"  # a fake: `import wandb` fails as if it were not installed
    (shim / "wandb").mkdir(parents=True)
    (shim / "wandb" / "__init__.py").write_text("raise ImportError(\"No module named 'wandb' (test fake)\")\n")
    env = child_env()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(shim), env.get("PYTHONPATH", "")]))
    code, events, _ = train(tiny_realm, env, "--steps", "3", "--report-to", "tensorboard,wandb")
    assert code == 0
    lines = [e["text"] for e in events if e["event"] == "Message" and "W&B" in e["text"]]
    assert lines == ["W&B not installed: pip install 'realm-tui[wandb]'; logging to TensorBoard only"]
    stopped = [e for e in events if e["event"] == "Stopped"][-1]
    assert stopped["reason"] == "finished" and stopped["step"] == 3
    assert list(run_dir(tiny_realm, campaign_of(events)).glob("events.out.tfevents.*"))


def test_unknown_report_target_is_refused(tiny_realm: RealmPaths) -> None:
    out = subprocess.run(
        realm_cmd(tiny_realm, "train", "--no-ui", "--hero", "tiny", "--report-to", "tensorboard,mlflow"),
        capture_output=True,
        text=True,
        timeout=60,
        env=child_env(),
    )
    assert out.returncode != 0
    assert "--report-to 'tensorboard,mlflow': choose from tensorboard, wandb" in out.stderr + out.stdout
