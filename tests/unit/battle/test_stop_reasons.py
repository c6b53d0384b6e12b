"""Stop reasons and error kinds are StrEnums of the contract: the strings in the store's event log
and in the `--json` lines stay what they were, a reason read back from JSON is a member again, an
unknown one is refused where it is made; and one function decides that a trainer died."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from realm_tui.battle.conductor import Conductor, trainer_died_of
from realm_tui.battle.launched import event_from_dict
from realm_tui.config.realm_config import load_realm_configs
from realm_tui.contract.event_json import event_to_json
from realm_tui.contract.protocol import GOOD_ENDINGS, Error, ErrorKind, Stop, Stopped, StopReason
from realm_tui.rules.notifications import NotificationKind
from realm_tui.services.init_realm import init_realm
from realm_tui.store import CampaignRecord, Store


def test_every_stop_reason_is_documented() -> None:
    doc = StopReason.__doc__ or ""
    assert all(f"`{reason.value}`" in doc for reason in StopReason)
    assert all(f"`{kind.value}`" in (ErrorKind.__doc__ or "") for kind in ErrorKind)
    assert "crashed" in {r.value for r in StopReason}


def test_good_endings_are_the_stops_nobody_failed() -> None:
    assert {r.value for r in GOOD_ENDINGS} == {"finished", "requested", "signal", "closing", "plateau"}
    assert "closing" in GOOD_ENDINGS and "crashed" not in GOOD_ENDINGS  # plain strings compare too


def test_plain_strings_become_members_and_json_keeps_the_strings() -> None:
    stopped = Stopped(7, "signal", "/c")  # type: ignore[arg-type]  # as read back from JSON
    assert stopped.reason is StopReason.SIGNAL and Stop(reason="closing").reason is StopReason.CLOSING  # type: ignore[arg-type]
    assert Error("x", kind="nonfinite").kind is ErrorKind.NONFINITE  # type: ignore[arg-type]
    line = json.loads(event_to_json(Stopped(7, StopReason.SIGNAL)))
    assert line["reason"] == "signal" and type(line["reason"]) is str
    assert json.loads(event_to_json(Error("x", kind=ErrorKind.CRASH)))["kind"] == "crash"
    again = event_from_dict(json.loads(event_to_json(Stopped(7, StopReason.CRASHED))))
    assert isinstance(again, Stopped) and again.reason is StopReason.CRASHED
    assert pickle.loads(pickle.dumps(Stopped(7, StopReason.ERROR))).reason is StopReason.ERROR
    with pytest.raises(ValueError):
        Stopped(7, "tired")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Stop(reason="later")  # type: ignore[arg-type]


def test_the_store_keeps_plain_strings(tmp_path: Path) -> None:
    realm, _ = init_realm(tmp_path / "realm")
    hero = load_realm_configs(realm.configs).hero("dio-nano")
    with Store.open(realm.store_file) as store:
        store.campaigns.add(CampaignRecord(id="c1", hero_id=hero.id))
        conductor = Conductor(store, realm, hero, "c1", "q")
        conductor.apply(Error("out of room", fatal=True, kind=ErrorKind.BAD_INPUT))
        conductor.apply(Stopped(3, StopReason.DISK_FULL))
    raw = json.loads(realm.store_file.read_text(encoding="utf-8"))
    logged = {e["kind"]: e["data"] for e in raw["events"].values()}
    assert logged["stopped"]["reason"] == "disk_full" and logged["error"]["kind"] == "bad_input"


def test_one_place_decides_the_trainer_died() -> None:
    crash = trainer_died_of(Error("Traceback (most recent call last):\n  boom", fatal=True, kind=ErrorKind.CRASH))
    assert crash is not None and crash.kind is NotificationKind.TRAINER_DIED and "boom" in crash.body
    fatal = trainer_died_of(Error("CUDA out of memory\nmore detail", fatal=True, kind=ErrorKind.ERROR))
    assert fatal is not None and fatal.body == "CUDA out of memory."
    assert trainer_died_of(Error("eval failed; the battle goes on", kind=ErrorKind.EVAL)) is None
