"""Records: validation rules and a round trip of every type through a real file."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from pydantic import ValidationError

from realm_tui.store import (
    AchievementRecord,
    CampaignRecord,
    CheckpointRecord,
    EvalRecord,
    EventRecord,
    HeroRecord,
    QuestRecord,
    Record,
    Store,
)

from ._helpers import achievement, campaign, checkpoint, eval_record, event, hero, quest


def full_campaign() -> CampaignRecord:
    return campaign(
        1,
        status="maxed_out",
        start_checkpoint="checkpoint-0-20250101-1200",
        current_step=4200,
        skill_levels={"bin": 3, "sy": 1},
        peaks={"lowest_loss": 0.42, "bin_level": 3},
        effort={"bin": 12.5},
        transitions=[{"skill": "bin", "from": 2, "to": 3, "step": 4000, "effort": 3.5}],
        milestones=[{"kind": "first_checkpoint", "step": 100}],
        gold=300,
        quests_completed=3,
        new_game_plus_of="camp-0",
    )


def full_checkpoint() -> CheckpointRecord:
    return checkpoint(
        1200,
        quest_id="quest-1",
        skill_levels={"bin": 2},
        size_bytes=11_000_000,
        adapter=True,
        blessing="blessed",
        quality=0.87,
        champion=True,
        notes={"rituals": {"finite": True, "reload": True}, "tags": ["a", "b"]},
    )


def full_eval() -> EvalRecord:
    return EvalRecord(
        campaign_id="camp-0",
        step=1200,
        checkpoint="checkpoint-1200-20250101-1200",
        skill="bin",
        level=2,
        accuracy=0.75,
        total=4,
        results=[{"prompt": "①⓪+①", "expected": "①①", "answer": "①①", "correct": True}],
    )


def full_quest() -> QuestRecord:
    return quest(
        7,
        priority="high",
        state="failed",
        attempts=2,
        reasons=["line 3: no assistant turn"],
        source_checkpoint="checkpoint-1200-20250101-1200",
        report={"lines": 10, "bad": [3]},
    )


def test_every_record_type_round_trips_through_the_file(store_path: Path) -> None:
    h, c, ck, ev, q = hero(0), full_campaign(), full_checkpoint(), full_eval(), full_quest()
    ach, log = achievement("first_step"), event("level_up", skill="bin", to=3, emoji="🎉")
    with Store.open(store_path) as store:
        store.heroes.add(h)
        store.campaigns.add(c)
        store.ledger.add(ck)
        store.evals.add(ev)
        store.quests.add(q)
        assert store.achievements.unlock(ach)
        store.events.add(log)

    with Store.open(store_path, readonly=True) as store:
        assert store.heroes.get("hero-0") == h
        assert store.campaigns.get("camp-1") == c
        assert store.ledger.get("checkpoint-1200-20250101-1200") == ck
        assert store.evals.get("camp-0:bin:2:1200") == ev
        assert store.quests.get("quest-7") == q
        assert store.achievements.get("first_step", "camp-0") == ach
        assert store.events.all() == [log]
        got = store.campaigns.require("camp-1")
        assert isinstance(got.peaks["bin_level"], int)
        assert isinstance(got.peaks["lowest_loss"], float)


def test_defaults_fill_in(store_path: Path) -> None:
    with Store.open(store_path) as store:
        store.heroes.add(HeroRecord(id="dio-nano"))
        got = store.heroes.require("dio-nano")
    assert got.schema_version == 1
    assert got.created_at > 1.6e9
    assert got.base_path is None


def test_nan_loss_survives_a_round_trip(store_path: Path) -> None:
    with Store.open(store_path) as store:
        store.ledger.add(checkpoint(5, train_loss=math.nan, val_loss=math.inf))
    with Store.open(store_path) as store:
        got = store.ledger.require("checkpoint-5-20250101-1200")
    assert got.train_loss is not None and math.isnan(got.train_loss)
    assert got.val_loss == math.inf


@pytest.mark.parametrize(
    ("model", "fields"),
    [
        (HeroRecord, {"id": "x", "colour": "red"}),
        (CampaignRecord, {"id": "c", "hero_id": "h", "status": "sleeping"}),
        (CheckpointRecord, {"name": "n", "campaign_id": "c", "hero_id": "h", "step": 1, "path": "/abs/ck"}),
        (CheckpointRecord, {"name": "n", "campaign_id": "c", "hero_id": "h", "step": -1, "path": "ck"}),
        (EvalRecord, {"campaign_id": "c", "step": 1, "skill": "bin", "level": 1, "accuracy": 1.5}),
        (QuestRecord, {"id": "q", "path": "p", "state": "lost"}),
        (QuestRecord, {"id": "q", "path": "p", "priority": "urgent"}),
        (AchievementRecord, {"id": ""}),
        (EventRecord, {"kind": "x", "extra": 1}),
    ],
)
def test_bad_records_are_rejected(model: type[Record], fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        model.model_validate(fields)


def test_eval_id_defaults_to_its_natural_key() -> None:
    assert eval_record(300, skill="sy", level=4).id == "camp-0:sy:4:300"
    assert EvalRecord(id="custom", campaign_id="c", step=1, skill="s", level=1, accuracy=0).id == "custom"


def test_windows_separators_are_normalised() -> None:
    assert checkpoint(1, path="saves\\checkpoints\\ck").path == "saves/checkpoints/ck"


def test_assignment_is_validated() -> None:
    rec = campaign(0)
    with pytest.raises(ValidationError):
        rec.status = "lost"  # type: ignore[assignment]


def test_returned_records_share_nothing_with_the_store(store_path: Path) -> None:
    with Store.open(store_path) as store:
        store.ledger.add(full_checkpoint())
        first = store.ledger.require("checkpoint-1200-20250101-1200")
        first.notes["rituals"]["finite"] = False
        first.notes["tags"].append("c")
        again = store.ledger.require("checkpoint-1200-20250101-1200")
    assert again.notes == {"rituals": {"finite": True, "reload": True}, "tags": ["a", "b"]}
