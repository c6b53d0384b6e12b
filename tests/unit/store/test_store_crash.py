"""Crashes in real child processes: os._exit inside a write, and SIGKILL during 1,000 writes."""

from __future__ import annotations

import random
import signal
import sys
import time
from pathlib import Path

import pytest

from realm_tui.store import Store, backup_path
from realm_tui.store.holder import stale_lock_message
from realm_tui.store.storage import leftover_temp_files

from ._helpers import checkpoint, no_temp_files, run_child, spawn_child

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX crash semantics")

CRASH_CHILD = """
import os, sys
from pathlib import Path
from realm_tui.store import Store, EventRecord, storage

path, stage = Path(sys.argv[1]), sys.argv[2]
print(os.getpid(), flush=True)
with Store.open(path) as store:
    store.events.add(EventRecord(kind="committed-in-child"))
    def crash(at):
        if at == stage:
            os._exit(17)
    storage._crash_hook = crash
    store.events.add(EventRecord(kind="doomed", data={"pad": "x" * 5000}))
raise SystemExit("the crash hook did not fire")
"""


@pytest.mark.parametrize("stage", ["tmp_synced", "backup_made", "replaced"])
def test_exit_inside_a_write_loses_nothing_committed(store_path: Path, stage: str) -> None:
    with Store.open(store_path) as store:
        for step in (100, 200, 300):
            store.ledger.add(checkpoint(step))
    result = run_child(CRASH_CHILD, str(store_path), stage)
    assert result.returncode == 17, result.stderr
    if stage != "replaced":
        assert leftover_temp_files(store_path), "the crash should leave the temp file behind"

    with Store.open(store_path) as store:
        # nothing to repair but the dead writer's lock note, which is cleared and said (issue 15)
        assert store.warnings == [stale_lock_message(store_path, int(result.stdout))]
        assert [c.step for c in store.ledger.by_campaign("camp-0")] == [100, 200, 300]
        kinds = [e.kind for e in store.events.all()]
        # the interrupted write is all or nothing; it is in only once the replace happened
        assert kinds == (["committed-in-child", "doomed"] if stage == "replaced" else ["committed-in-child"])
        if stage == "replaced":
            assert store.events.recent(1)[0].data["pad"] == "x" * 5000
    assert no_temp_files(store_path)
    assert backup_path(store_path).exists()


WRITER_CHILD = """
import random, sys
from pathlib import Path
from realm_tui.store import (
    CampaignRecord, CheckpointRecord, EvalRecord, EventRecord, QuestRecord, Store,
)

path, seed, round_ = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed * 100 + round_)
out = sys.stdout
with Store.open(path) as store:
    if "c" not in store.campaigns:
        store.campaigns.add(CampaignRecord(id="c", hero_id="h"))
    names = [c.name for c in store.ledger.all()]
    out.write("ready\\n"); out.flush()
    for n in range(1000):
        i = round_ * 10_000 + n
        op = rng.choice(["event", "event", "checkpoint", "eval", "quest", "step", "champion"])
        pad = "x" * rng.randint(0, 3000)
        if op == "event":
            store.events.add(EventRecord(kind="tick", campaign_id="c", data={"i": i, "pad": pad}))
            line = f"event {i}"
        elif op == "checkpoint" or (op == "champion" and not names):
            name = f"ck-{i}"
            store.ledger.add(CheckpointRecord(
                name=name, campaign_id="c", hero_id="h", step=i, path=f"saves/checkpoints/{name}",
                notes={"pad": pad}))
            names.append(name)
            line = f"checkpoint {name}"
        elif op == "eval":
            rec = store.evals.add(EvalRecord(campaign_id="c", step=i, skill="bin", level=1,
                                             accuracy=rng.random(), results=[{"pad": pad}]))
            line = f"eval {rec.id}"
        elif op == "quest":
            store.quests.upsert(QuestRecord(id=f"q{i}", path=f"quests/inbox/q{i}.jsonl"))
            line = f"quest q{i}"
        elif op == "step":
            store.campaigns.update("c", current_step=i)
            line = f"step {i}"
        else:
            name = rng.choice(names)
            store.ledger.set_champion(name)
            line = f"champion {name}"
        out.write(line + "\\n"); out.flush()
out.write("done\\n"); out.flush()
"""

ROUNDS = 3


def kill_a_writer(store_path: Path, seed: int, round_: int) -> list[str]:
    """Start a child doing 1,000 random writes, SIGKILL it at a random moment, return its report."""
    child = spawn_child(WRITER_CHILD, str(store_path), str(seed), str(round_))
    assert child.stdout is not None and child.stderr is not None
    try:
        ready = child.stdout.readline()
        assert ready == "ready\n", child.stderr.read()
        time.sleep(random.Random(seed * 100 + round_).uniform(0.15, 0.6))
        child.send_signal(signal.SIGKILL)
        rest, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL, err
    lines = [ln for ln in rest.splitlines() if ln]
    assert "done" not in lines, "the child finished before the kill: make the sleep shorter"
    return lines


@pytest.mark.parametrize("seed", [1, 2])
def test_sigkill_during_random_writes_keeps_every_reported_commit(store_path: Path, seed: int) -> None:
    # several rounds on one store: each new writer also recovers from the previous kill
    lines: list[str] = []
    for round_ in range(ROUNDS):
        lines += kill_a_writer(store_path, seed, round_)
    assert lines, "no write was reported before the kills"

    reported: dict[str, list[str]] = {}
    for line in lines:
        kind, key = line.split(" ", 1)
        reported.setdefault(kind, []).append(key)

    with Store.open(store_path) as store:
        # nothing to repair but the last killed writer's lock note, which is cleared and said (issue 15)
        assert [w for w in store.warnings if not w.startswith("cleared a stale lock")] == []
        assert len(store.warnings) == 1 and "is no longer running" in store.warnings[0]
        # every record of every table validates (repositories raise on a bad one)
        events = store.events.all()
        ledger = store.ledger.all()
        evals = store.evals.all()
        quests = store.quests.all()
        campaign = store.campaigns.require("c")

        assert {str(e.data["i"]) for e in events} >= set(reported.get("event", []))
        assert {c.name for c in ledger} >= set(reported.get("checkpoint", []))
        assert {e.id for e in evals} >= set(reported.get("eval", []))
        assert {q.id for q in quests} >= set(reported.get("quest", []))
        if "step" in reported:
            assert campaign.current_step >= int(reported["step"][-1])
        champions = [c.name for c in ledger if c.champion]
        assert len(champions) <= 1
        if "champion" in reported:
            assert len(champions) == 1
        # at most the one write in flight when each kill landed went in unreported
        total = len(events) + len(ledger) + len(evals) + len(quests)
        inserted = sum(len(reported.get(k, [])) for k in ("event", "checkpoint", "eval", "quest"))
        assert inserted <= total <= inserted + ROUNDS
    assert no_temp_files(store_path)
