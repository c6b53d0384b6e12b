"""Two processes, gloo on the CPU: data sharded per rank, gradients synchronised, only rank 0 saves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from realm_tui.contract.job_json import job_from_json, job_to_json
from realm_tui.contract.manifest import is_valid_checkpoint


def test_job_json_round_trip(make_job) -> None:
    job = make_job(school="judge", school_options={"beta": 0.2}, oracle_loss={"signal": "margin"})
    assert job_from_json(job_to_json(job)) == job
    with pytest.raises(ValueError, match="unknown TrainJob field"):
        job_from_json(json.dumps({**json.loads(job_to_json(job)), "warp_drive": True}))


def test_two_ranks_shard_the_data_and_only_rank_0_saves(make_job, tmp_path: Path) -> None:
    job = make_job(max_steps=4, batch_size=2, save_steps=2, checkpoints_dir=str(tmp_path / "ckpt"))
    job = replace(job, realm_root=str(tmp_path / "realm"))  # its own realm: both ranks meet an unbuilt hero
    for folder in ("configs", "quests", "saves"):
        (tmp_path / "realm" / folder).mkdir(parents=True)
    job_file = tmp_path / "job.json"
    job_file.write_text(job_to_json(job))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    cmd += ["-m", "realm_tui.trainer.entry.distributed", "--job", str(job_file)]
    cmd += ["--events", str(tmp_path / "events.jsonl"), "--rank-report", str(tmp_path / "ranks")]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]

    ranks = [json.loads((tmp_path / "ranks" / f"rank-{r}.json").read_text()) for r in (0, 1)]
    assert [r["world"] for r in ranks] == [2, 2] and [r["stopped"] for r in ranks] == ["finished"] * 2
    # The battle's DDP module (its reducer holds the gloo group) was freed before the group was torn
    # down, not left to the garbage collector at interpreter exit (a rare SIGABRT under load).
    assert [r["ddp_alive_at_teardown"] for r in ranks] == [0, 0]
    steps0, steps1 = ranks[0]["steps"], ranks[1]["steps"]
    assert len(steps0) == len(steps1) == 4
    assert all(a["examples"] == b["examples"] == 2 for a, b in zip(steps0, steps1, strict=True))
    assert all(a["digest"] != b["digest"] for a, b in zip(steps0, steps1, strict=True))  # different shards
    # DDP averaged the gradients: after different data, both ranks hold the same weights at every save.
    assert ranks[0]["weights_at_saves"] == ranks[1]["weights_at_saves"] and len(ranks[0]["weights_at_saves"]) == 2

    written = ranks[0]["wrote_checkpoints"]
    assert ranks[1]["wrote_checkpoints"] == [] and len(written) == 2
    on_disk = sorted(str(p) for p in (tmp_path / "ckpt").iterdir())
    assert on_disk == sorted(written) and all(is_valid_checkpoint(Path(p)) for p in written)

    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert [e["step"] for e in events if e["event"] == "Step"] == [1, 2, 3, 4]  # rank 0's events only
    assert [e["step"] for e in events if e["event"] == "CheckpointSaved"] == [2, 4]
    assert events[-1]["event"] == "Stopped" and events[-1]["reason"] == "finished"


def test_stop_looks_between_steps_are_local_and_agreed_at_the_boundary(tmp_path: Path) -> None:
    """The launched battle's hang under load: an eval looks for a Stop before each decoding step,
    at most every 0.2 s of its own clock, so two ranks look different numbers of times. Those looks
    must not be collectives (they paired with the other rank's next collective), and a Stop one rank
    saw in between must still stop both at the next boundary."""
    worker = Path(__file__).with_name("agreed_control_worker.py")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    out = subprocess.run([*cmd, str(worker), str(tmp_path)], capture_output=True, text=True, timeout=600, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank-{r}.json").read_text()) for r in (0, 1)]
    assert [r["stop_at_first_boundary"] for r in ranks] == [True, True]
    assert [r["stop_at_second_boundary"] for r in ranks] == [False, False]
    assert [r["sum"] for r in ranks] == [21, 21]
    assert [r["any_rank"] for r in ranks] == [True, True]
