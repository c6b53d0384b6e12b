"""`realm train --no-ui --launch CMD`: a two-process (gloo) battle recorded by the parent like any other."""

from __future__ import annotations

import math
import sys

from battle_kit import run_json

from realm_tui.battle.launched import event_from_dict
from realm_tui.contract.event_json import event_to_dict
from realm_tui.contract.manifest import is_valid_checkpoint
from realm_tui.contract.protocol import CheckpointSaved, Error, QuestStarted, Step, StepProgress
from realm_tui.paths import RealmPaths
from realm_tui.store import Store


def test_events_survive_the_json_round_trip() -> None:
    for event in (
        Step(3, 10, float("nan"), 1e-3, 0.5, 100.0, 2.0, 64, metrics={"dpo_margin": 0.5}),
        CheckpointSaved(4, "/x", "x", None, 1.5, 1e-3, 10, notes={"oom": [{"step": 2}]}),
        QuestStarted("q", ("a.jsonl", "b.jsonl"), 3, 40),
        StepProgress(4, 3, 8, 2891, 7702),
        Error("boom", fatal=True, kind="crash"),
    ):
        back = event_from_dict(event_to_dict(event))
        assert type(back) is type(event)
        if isinstance(event, Step):
            assert isinstance(back, Step) and math.isnan(back.loss) and back.metrics == event.metrics
        else:
            assert back == event
    assert event_from_dict({"event": "Nonsense"}) is None


def test_a_launched_two_process_battle_is_recorded(tiny_realm: RealmPaths) -> None:
    launcher = f"{sys.executable} -m torch.distributed.run --standalone --nproc_per_node 2"
    code, events = run_json(tiny_realm, "--steps", "6", "--launch", launcher, timeout=300)
    assert code == 0, [e for e in events if e["event"] == "Error"]
    assert [e["step"] for e in events if e["event"] == "Step"] == [1, 2, 3, 4, 5, 6]
    assert events[-1]["event"] == "Stopped" and events[-1]["reason"] == "finished"
    with Store.open(tiny_realm.store_file, readonly=True) as store:
        campaign = store.campaigns.active("tiny")
        assert campaign is not None and campaign.current_step == 6
        ledger = store.ledger.by_campaign(campaign.id)
        assert [r.step for r in ledger] == [5, 6]
        assert all(is_valid_checkpoint(tiny_realm.root / r.path) for r in ledger)
    jobs = list((tiny_realm.saves / "jobs").glob("*.json"))
    assert len(jobs) == 1
