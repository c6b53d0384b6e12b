"""Repository queries over a real store file."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from realm_tui.store import (
    CampaignRecord,
    DuplicateRecord,
    RecordNotFound,
    Store,
    StoreError,
)

from ._helpers import achievement, campaign, checkpoint, eval_record, event, hero, quest


@pytest.fixture
def store(store_path: Path) -> Iterator[Store]:
    with Store.open(store_path) as opened:
        yield opened


def test_add_refuses_duplicates_upsert_replaces(store: Store) -> None:
    store.heroes.add(hero(0))
    with pytest.raises(DuplicateRecord, match="hero-0"):
        store.heroes.add(hero(0))
    store.heroes.upsert(hero(0).model_copy(update={"name": "Renamed"}))
    assert [h.name for h in store.heroes.all()] == ["Renamed"]
    assert len(store.heroes) == 1
    assert "hero-0" in store.heroes and "hero-9" not in store.heroes
    assert store.heroes.keys() == ["hero-0"]


def test_get_missing_and_require(store: Store) -> None:
    assert store.campaigns.get("nope") is None
    with pytest.raises(RecordNotFound, match="nope"):
        store.campaigns.require("nope")
    with pytest.raises(RecordNotFound):
        store.campaigns.update("nope", gold=1)


def test_update_validates_and_touches_updated_at(store: Store) -> None:
    store.campaigns.add(campaign(0, updated_at=1.0))
    updated = store.campaigns.update("camp-0", gold=200, skill_levels={"bin": 2})
    assert updated.gold == 200 and updated.updated_at > 1.0
    assert store.campaigns.require("camp-0") == updated
    with pytest.raises(ValueError):
        store.campaigns.update("camp-0", status="lost")
    with pytest.raises(ValueError):
        store.campaigns.update("camp-0", not_a_field=1)
    with pytest.raises(StoreError, match="cannot change"):
        store.campaigns.update("camp-0", id="camp-9")
    assert store.campaigns.require("camp-0") == updated
    kept = store.campaigns.update("camp-0", updated_at=5.0)
    assert kept.updated_at == 5.0


def test_remove(store: Store) -> None:
    store.ledger.add(checkpoint(100))
    assert store.ledger.remove("checkpoint-100-20250101-1200")
    assert not store.ledger.remove("checkpoint-100-20250101-1200")
    assert store.ledger.all() == []


def test_campaigns_active_and_by_hero(store: Store) -> None:
    assert store.campaigns.active() is None
    store.campaigns.add(campaign(0, hero_id="a", status="archived", created_at=1.0))
    store.campaigns.add(campaign(1, hero_id="a", status="active", created_at=2.0, updated_at=2.0))
    store.campaigns.add(campaign(2, hero_id="b", status="active", created_at=3.0, updated_at=3.0))
    assert store.campaigns.active().id == "camp-2"  # type: ignore[union-attr]
    assert store.campaigns.active("a").id == "camp-1"  # type: ignore[union-attr]
    assert store.campaigns.active("c") is None
    assert [c.id for c in store.campaigns.by_hero("a")] == ["camp-0", "camp-1"]


def test_ledger_latest_and_by_campaign(store: Store) -> None:
    assert store.ledger.latest() is None
    store.ledger.add(checkpoint(300, created_at=30.0))
    store.ledger.add(checkpoint(100, created_at=10.0))
    store.ledger.add(checkpoint(200, created_at=20.0))
    store.ledger.add(checkpoint(50, campaign_id="camp-1", created_at=40.0))
    assert [c.step for c in store.ledger.by_campaign("camp-0")] == [100, 200, 300]
    assert store.ledger.latest("camp-0").step == 300  # type: ignore[union-attr]
    assert store.ledger.latest().campaign_id == "camp-1"  # type: ignore[union-attr]
    # a resume from an older checkpoint saves a lower step later: latest is the later save
    store.ledger.add(checkpoint(150, name="rewound", created_at=50.0))
    assert store.ledger.latest("camp-0").name == "rewound"  # type: ignore[union-attr]
    assert store.ledger.latest("nobody") is None


def test_exactly_one_champion_per_campaign(store: Store) -> None:
    for step in (100, 200, 300):
        store.ledger.add(checkpoint(step))
    store.ledger.add(checkpoint(100, campaign_id="camp-1", name="other", champion=True))
    assert store.ledger.champion("camp-0") is None
    champ = store.ledger.set_champion("checkpoint-200-20250101-1200")
    assert champ.champion and champ.step == 200
    store.ledger.set_champion("checkpoint-300-20250101-1200")
    flags = [(c.step, c.champion) for c in store.ledger.by_campaign("camp-0")]
    assert flags == [(100, False), (200, False), (300, True)]
    assert store.ledger.champion("camp-0").step == 300  # type: ignore[union-attr]
    assert store.ledger.champion("camp-1").name == "other"  # type: ignore[union-attr]
    with pytest.raises(RecordNotFound):
        store.ledger.set_champion("missing")
    store.ledger.clear_champion("camp-0")
    assert store.ledger.champion("camp-0") is None
    assert store.ledger.champion("camp-1") is not None


def test_ledger_update(store: Store) -> None:
    store.ledger.add(checkpoint(100))
    got = store.ledger.update("checkpoint-100-20250101-1200", blessing="blessed", quality=0.9)
    assert (got.blessing, got.quality) == ("blessed", 0.9)
    assert store.ledger.require("checkpoint-100-20250101-1200").quality == 0.9


def test_evals_for_skill_ordered_by_step(store: Store) -> None:
    for step, level in [(300, 1), (100, 1), (200, 2), (400, 1)]:
        store.evals.add(eval_record(step, level=level))
    store.evals.add(eval_record(150, skill="sy"))
    store.evals.add(eval_record(50, campaign_id="camp-1"))
    assert [e.step for e in store.evals.for_skill("camp-0", "bin")] == [100, 200, 300, 400]
    assert [e.step for e in store.evals.for_skill("camp-0", "bin", level=1)] == [100, 300, 400]
    assert [e.step for e in store.evals.for_skill("camp-0", "sy")] == [150]
    assert [e.step for e in store.evals.for_campaign("camp-0")] == [100, 150, 200, 300, 400]
    store.evals.upsert(eval_record(100, acc=0.9))  # a re-run replaces the same natural key
    assert [e.accuracy for e in store.evals.for_skill("camp-0", "bin", 1)][0] == 0.9


def test_evals_for_checkpoint(store: Store) -> None:
    store.evals.add(eval_record(100, skill="sy").model_copy(update={"checkpoint": "ck"}))
    store.evals.add(eval_record(100, skill="bin").model_copy(update={"checkpoint": "ck"}))
    assert [e.skill for e in store.evals.for_checkpoint("ck")] == ["bin", "sy"]


def test_quests_by_state_in_queue_order(store: Store) -> None:
    store.quests.add(quest(1, state="queued", priority="low", created_at=1.0))
    store.quests.add(quest(2, state="queued", priority="high", created_at=3.0))
    store.quests.add(quest(3, state="queued", priority="normal", created_at=2.0))
    store.quests.add(quest(4, state="queued", priority="high", created_at=2.0))
    store.quests.add(quest(5, state="done"))
    assert [q.id for q in store.quests.by_state("queued")] == ["quest-4", "quest-2", "quest-3", "quest-1"]
    assert [q.id for q in store.quests.by_state("queued", "high")] == ["quest-4", "quest-2"]
    assert store.quests.by_state("failed") == []
    moved = store.quests.update("quest-1", state="processing", attempts=1)
    assert moved.updated_at >= moved.created_at
    assert [q.id for q in store.quests.by_state("processing")] == ["quest-1"]


def test_achievements_unlock_once_per_campaign(store: Store) -> None:
    assert store.achievements.unlock(achievement("first_step"))
    assert not store.achievements.unlock(achievement("first_step"))
    assert store.achievements.unlock(achievement("first_step", campaign_id="camp-1"))
    assert store.achievements.unlock(achievement("realm_founder", campaign_id=None))
    assert store.achievements.is_unlocked("first_step", "camp-0")
    assert not store.achievements.is_unlocked("first_step", "camp-2")
    assert [a.id for a in store.achievements.for_campaign(None)] == ["realm_founder"]
    assert len(store.achievements.all()) == 3
    assert store.achievements.remove("first_step", "camp-1")
    assert not store.achievements.remove("first_step", "camp-1")


def test_events_recent_filters_and_trim(store: Store) -> None:
    for i in range(10):
        store.events.add(event("step" if i % 2 else "level_up", campaign_id=f"camp-{i % 3}", i=i))
    assert [e.data["i"] for e in store.events.recent(3)] == [7, 8, 9]
    assert [e.data["i"] for e in store.events.recent(2, kind="level_up")] == [6, 8]
    assert [e.data["i"] for e in store.events.recent(10, campaign_id="camp-1")] == [1, 4, 7]
    assert store.events.recent(0) == []
    assert store.events.trim(keep=4) == 6
    assert [e.data["i"] for e in store.events.all()] == [6, 7, 8, 9]
    assert store.events.trim(keep=10) == 0


def test_wrong_record_type_is_refused(store: Store) -> None:
    with pytest.raises(TypeError, match="HeroRecord"):
        store.heroes.add(campaign(0))  # type: ignore[arg-type]


def test_readonly_store_refuses_writes(store_path: Path) -> None:
    with Store.open(store_path) as writer:
        writer.heroes.add(hero(0))
    before = store_path.read_bytes()
    with Store.open(store_path, readonly=True) as reader:
        with pytest.raises(StoreError, match="read-only"):
            reader.heroes.add(hero(1))
        assert [h.id for h in reader.heroes.all()] == ["hero-0"]
    assert store_path.read_bytes() == before


def test_closed_store_refuses_use(store_path: Path) -> None:
    store = Store.open(store_path)
    store.close()
    store.close()  # idempotent
    assert store.closed
    with pytest.raises(StoreError, match="closed"):
        store.heroes.all()
    with pytest.raises(StoreError, match="closed"):
        store.heroes.add(hero(0))


def test_reader_sees_writes_made_after_it_opened(store_path: Path) -> None:
    with Store.open(store_path) as writer, Store.open(store_path, readonly=True) as reader:
        assert reader.heroes.all() == []
        writer.heroes.add(hero(0))
        assert [h.id for h in reader.heroes.all()] == ["hero-0"]
        writer.heroes.add(hero(1))
        assert len(reader.heroes) == 2


def test_threads_share_one_store(store: Store) -> None:
    def work(t: int) -> None:
        for i in range(20):
            store.events.add(event("tick", thread=t, i=i))
            store.campaigns.upsert(CampaignRecord(id=f"t{t}", hero_id="h", current_step=i))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(store.events) == 60
    assert sorted(c.current_step for c in store.campaigns.all()) == [19, 19, 19]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    ops=st.lists(
        st.tuples(st.sampled_from(["upsert", "remove", "champion"]), st.integers(0, 5), st.integers(0, 1)),
        max_size=12,
    )
)
def test_ledger_matches_a_model_after_reopen(tmp_path: Path, ops: list[tuple[str, int, int]]) -> None:
    path = tmp_path / f"h{abs(hash(tuple(ops)))}" / "realm.json"
    model: dict[str, tuple[str, bool]] = {}  # name -> (campaign, champion)
    with Store.open(path) as store:
        for op, step, camp in ops:
            name = f"ck-{step}"
            if op == "upsert":
                store.ledger.upsert(checkpoint(step, name=name, campaign_id=f"c{camp}"))
                model[name] = (f"c{camp}", False)
            elif op == "remove":
                assert store.ledger.remove(name) == (name in model)
                model.pop(name, None)
            elif name in model:
                store.ledger.set_champion(name)
                cid = model[name][0]
                model = {n: (c, n == name if c == cid else ch) for n, (c, ch) in model.items()}
    with Store.open(path, readonly=True) as store:
        assert {c.name: (c.campaign_id, c.champion) for c in store.ledger.all()} == model
        for cid in ("c0", "c1"):
            assert sum(c.champion for c in store.ledger.by_campaign(cid)) <= 1
