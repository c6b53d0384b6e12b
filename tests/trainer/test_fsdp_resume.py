"""FSDP 2 on two CPU processes (gloo): the whole optimizer state is gathered into the checkpoint and
re-sharded on resume, so a resumed run continues exactly where the straight run was.

The ranks run tests/trainer/fsdp_resume_worker.py (torch's `fully_shard` on the tiny hero; accelerate
applies FSDP on GPUs only) with the trainer's own checkpoint functions.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from realm_tui.contract.manifest import is_valid_checkpoint
from realm_tui.errors import InputError
from realm_tui.trainer import checkpoint as ck

WORKER = Path(__file__).with_name("fsdp_resume_worker.py")


def test_numbered_and_named_are_inverse_and_refuse_a_misfit(tmp_path: Path) -> None:
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1)
    model(torch.ones(2, 3)).sum().backward()
    optimizer.step()
    numbered = optimizer.state_dict()
    names = [name for name, _ in model.named_parameters()]
    named = ck._named(numbered, [names], tmp_path)
    assert list(named["state"]) == names and named["param_groups"][0]["params"] == names
    assert ck._numbered(named) == numbered
    with pytest.raises(InputError, match="optimizer state does not fit this hero"):
        ck._named(numbered, [names[:-1]], tmp_path)
    with pytest.raises(InputError, match=str(tmp_path)):
        ck._named(numbered, [names[:2], names[2:]], tmp_path)


def test_unsharded_models_keep_the_plain_path() -> None:
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.AdamW(model.parameters())
    assert not ck.is_sharded(model)  # no process group: one process
    assert ck.gathered_optimizer_state(model, optimizer) is None


@pytest.mark.timeout(120)
def test_fsdp2_resume_restores_adam_moments_exactly(tmp_path: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    cmd += [str(WORKER), str(tmp_path)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=110, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-4000:]
    r0, r1 = (json.loads((tmp_path / f"rank-{r}.json").read_text()) for r in (0, 1))

    # Really sharded: each rank holds about half of the parameters.
    assert r0["sharded"] and r1["sharded"]
    assert r0["local_numel"] < r0["full_numel"] and r0["local_numel"] + r1["local_numel"] >= r0["full_numel"]
    # Rank 0 gathered the whole state and wrote the only checkpoint, in one process's format.
    assert r0["gathered_on_this_rank"] and not r1["gathered_on_this_rank"]
    assert r0["checkpoint"] == r1["checkpoint"] and is_valid_checkpoint(Path(r0["checkpoint"]))
    assert len(list((tmp_path / "ckpt").iterdir())) == 1
    assert r0["state_keys_are_numbers"] and r0["plain_groups_match"]
    # What is on disk is what was gathered, and re-sharding then gathering again gives it back bit for bit.
    for check in ("disk_vs_gathered", "resumed_vs_saved"):
        assert r0[check]["tensor_diffs"] == [] and r0[check]["group_diffs"] == [], (check, r0[check])
        assert r0[check]["n_params"] > 0
    # The resumed run continues the straight one: same losses, same weights.
    assert r0["resumed_losses"] == pytest.approx(r0["straight_losses"][2:], rel=1e-5, abs=1e-6)
    assert r0["weights_compared"] > 0 and r0["max_weight_diff"] < 1e-6
    # The finiteness check before a save looks at every shard and gives every rank the same answer.
    assert r0["all_finite"] and r1["all_finite"]
    assert not r0["all_finite_after_nan_on_rank_1"] and not r1["all_finite_after_nan_on_rank_1"]
