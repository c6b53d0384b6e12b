"""`realm train --no-ui` end to end: real child process, real checkpoints, real store."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

from battle_kit import child_env, realm_cmd, run_json

from realm_tui.battle.headless import SAME_INTERRUPT_S, interrupt_action
from realm_tui.contract.manifest import is_valid_checkpoint
from realm_tui.paths import RealmPaths
from realm_tui.store import Store


def kinds(events: list[dict]) -> list[str]:
    return [e["event"] for e in events]


def test_battle_then_resume_records_everything(tiny_realm: RealmPaths) -> None:
    code, events = run_json(tiny_realm, "--steps", "6")
    assert code == 0
    names = kinds(events)
    assert names.index("Hello") < names.index("Step") < names.index("CheckpointSaved")
    stopped = [e for e in events if e["event"] == "Stopped"]
    assert stopped[-1]["reason"] == "finished" and stopped[-1]["step"] == 6

    with Store.open(tiny_realm.store_file, readonly=True) as store:
        campaign = store.campaigns.active("tiny")
        assert campaign is not None and campaign.current_step == 6
        ledger = store.ledger.by_campaign(campaign.id)
        assert [r.step for r in ledger] == [5, 6]
        assert all(is_valid_checkpoint(tiny_realm.root / r.path) for r in ledger)
        # 6 steps trained ~24 of the quest's ~190 examples: it is in progress, queued for the next battle
        quest = store.quests.get("add")
        assert quest is not None and quest.state == "queued" and 0 < quest.report["progress"] < 0.5
        assert campaign.gold == 0 and campaign.quests_completed == 0
    assert "QuestFinished" not in names

    # Second battle resumes from the latest checkpoint of the same campaign.
    code, events = run_json(tiny_realm, "--steps", "4")
    assert code == 0
    steps = [e["step"] for e in events if e["event"] == "Step"]
    assert steps and steps[-1] == 10 and min(steps) > 6
    with Store.open(tiny_realm.store_file, readonly=True) as store:
        campaign = store.campaigns.active("tiny")
        assert campaign is not None and campaign.current_step == 10
        assert [r.step for r in store.ledger.by_campaign(campaign.id)][-1] == 10


def test_bad_quest_is_rejected_before_training(tiny_realm: RealmPaths) -> None:
    bad = tiny_realm.root / "bad.jsonl"
    bad.write_text('{"messages": [{"role": "user", "content": "hi"}]}\n{oops\n')
    out = subprocess.run(
        realm_cmd(tiny_realm, "train", "--no-ui", "--hero", "tiny", "--quest", str(bad)),
        capture_output=True,
        text=True,
        timeout=60,
        env=child_env(),
    )
    assert out.returncode == 2
    assert f"{bad}:1: no assistant turn" in out.stderr and f"{bad}:2: bad JSON" in out.stderr
    assert "Traceback" not in out.stderr
    assert not tiny_realm.checkpoints.exists() or not any(tiny_realm.checkpoints.iterdir())


def start_long_battle(realm: RealmPaths, cleanup: list) -> subprocess.Popen[str]:
    """A headless battle with --json output that runs until it is stopped."""
    proc = subprocess.Popen(
        realm_cmd(realm, "train", "--no-ui", "--json", "--hero", "tiny", "--steps", "100000"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(),
    )
    cleanup.append(proc)
    return proc


def interrupted_at_step_3(tiny_realm: RealmPaths, popen_cleanup: list, signals: int) -> tuple[int, list[dict]]:
    """A long battle run to step 3, then sent `signals` SIGINTs at once; its exit code and every
    event it printed (read to its end)."""
    proc = start_long_battle(tiny_realm, popen_cleanup)
    assert proc.stdout is not None
    events = []
    for line in proc.stdout:
        events.append(json.loads(line))
        if events[-1]["event"] == "Step" and events[-1]["step"] >= 3:
            break
    for _ in range(signals):
        proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate(timeout=120)
    events += [json.loads(line) for line in rest.splitlines() if line.startswith("{")]
    return proc.returncode, events


def test_sigint_stops_gracefully_with_a_checkpoint(tiny_realm: RealmPaths, popen_cleanup: list) -> None:
    code, events = interrupted_at_step_3(tiny_realm, popen_cleanup, signals=1)
    assert code == 0
    stopped = [e for e in events if e["event"] == "Stopped"][-1]
    assert stopped["reason"] == "signal" and stopped["checkpoint"]
    with Store.open(tiny_realm.store_file, readonly=True) as store:
        latest = store.ledger.latest()
        assert latest is not None and latest.step == stopped["step"]
        assert is_valid_checkpoint(tiny_realm.root / latest.path)


def test_kill9_of_the_child_keeps_the_ledger_and_resume_continues(tiny_realm: RealmPaths, popen_cleanup: list) -> None:
    proc = start_long_battle(tiny_realm, popen_cleanup)
    assert proc.stdout is not None
    child_pid = None
    saved = []
    for line in proc.stdout:
        event = json.loads(line)
        if event["event"] == "Hello":
            child_pid = event["pid"]
        if event["event"] == "CheckpointSaved":
            saved.append(event["step"])
        if event["event"] == "Step" and len(saved) >= 2:
            break
    assert child_pid is not None
    os.kill(child_pid, signal.SIGKILL)
    killed_at = time.monotonic()
    rest, _ = proc.communicate(timeout=60)
    events = [json.loads(line) for line in rest.splitlines() if line.startswith("{")]
    saved += [e["step"] for e in events if e["event"] == "CheckpointSaved"]
    crash = [e for e in events if e["event"] == "Error" and e["kind"] == "crash"]
    assert crash and "killed by signal 9" in crash[0]["message"]
    assert time.monotonic() - killed_at < 30  # the parent did not hang
    assert proc.returncode == 1

    with Store.open(tiny_realm.store_file, readonly=True) as store:
        records = store.ledger.all()
    committed = [r.step for r in records]
    # Every checkpoint the parent announced is committed, bar those retention removed on purpose.
    assert max(committed) == max(saved) and set(committed) <= set(saved)
    assert all(is_valid_checkpoint(tiny_realm.root / r.path) for r in records)

    code, events = run_json(tiny_realm, "--steps", "3")
    assert code == 0
    first_step = next(e["step"] for e in events if e["event"] == "Step")
    assert first_step == max(committed) + 1


def test_a_refused_battle_ends_the_trainer_spawned_ahead(tiny_realm: RealmPaths) -> None:
    """`run_headless` spawns the trainer before planning (its imports overlap the planning); a
    battle refused at planning (an unknown hero) ends that child instead of leaving it behind."""
    import multiprocessing

    import pytest

    from realm_tui.battle.headless import run_headless
    from realm_tui.errors import RealmError

    before = set(multiprocessing.active_children())
    with pytest.raises(RealmError, match="nobody"):
        run_headless(tiny_realm, hero_id="nobody", json_events=True)
    assert set(multiprocessing.active_children()) == before


def test_one_interrupt_delivered_twice_still_stops_gracefully(tiny_realm: RealmPaths, popen_cleanup: list) -> None:
    """`timeout -s INT 60 realm train --no-ui` signals realm and then its whole process group: two
    SIGINTs at once are one interrupt, not a second Ctrl-C that kills the trainer."""
    code, events = interrupted_at_step_3(tiny_realm, popen_cleanup, signals=2)
    assert code == 0, [e for e in events if e["event"] == "Error"]
    stopped = [e for e in events if e["event"] == "Stopped"][-1]
    assert stopped["reason"] == "signal" and stopped["checkpoint"]


def test_a_second_interrupt_forces_only_when_it_is_a_second_press() -> None:
    assert interrupt_action(None, 100.0) == "stop"
    assert interrupt_action(100.0, 100.0001) is None, "the same interrupt, delivered to the process and its group"
    assert interrupt_action(100.0, 100.0 + SAME_INTERRUPT_S) == "kill"
    assert interrupt_action(100.0, 160.0) == "kill"
