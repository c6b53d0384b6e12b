"""The Quest Board: intake, order, every transition, retries, partial writes, collisions."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from realm_tui.errors import InputError
from realm_tui.paths import RealmPaths
from realm_tui.quests.board import Board
from realm_tui.quests.files import is_in_progress, move_unique
from realm_tui.quests.policy import QuestPolicy
from realm_tui.store import Store

from ._helpers import Clock, age, all_files, good_lines, line, write


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_inbox_file_is_validated_and_queued(realm: RealmPaths, board: Board) -> None:
    src = write(realm.quests / "inbox" / "first.jsonl", good_lines(3))
    result = board.scan()
    assert [r.id for r in result.queued] == ["first"] and not result.failed
    record = board.store.quests.require("first")
    assert record.state == "queued" and record.priority == "normal" and record.attempts == 0
    assert record.path == "quests/queue/normal/first.jsonl" and not src.exists()
    assert record.report["validation"]["valid"] == 3
    assert board.scan().queued == []  # nothing new


@pytest.mark.parametrize("priority", ["high", "normal", "low"])
def test_inbox_subfolders_set_the_priority(realm: RealmPaths, board: Board, priority: str) -> None:
    write(realm.quests / "inbox" / priority / "q.jsonl", good_lines(1))
    (record,) = board.scan().queued
    assert record.priority == priority and record.path == f"quests/queue/{priority}/q.jsonl"


def test_order_is_high_normal_low_then_oldest_first(realm: RealmPaths, board: Board) -> None:
    inbox = realm.quests / "inbox"
    for name, prio, older in [("n_new", "normal", 10), ("l_old", "low", 90), ("n_old", "normal", 50)]:
        path = write(inbox / prio / f"{name}.jsonl", good_lines(1, name))
        age(path, older)
    write(inbox / "high" / "h.jsonl", good_lines(1, "h"))
    board.scan()
    assert [r.id for r in board.quests("queued")] == ["h", "n_old", "n_new", "l_old"]
    assert board.next_quest() is not None and board.next_quest().id == "h"  # type: ignore[union-attr]


def test_full_lifecycle_to_done(realm: RealmPaths, board: Board) -> None:
    write(realm.quests / "inbox" / "q.jsonl", good_lines(2))
    board.scan()
    quest = board.next_quest()
    assert quest is not None
    fighting = board.mark_processing(quest.id, source_checkpoint="checkpoint-10")
    assert fighting.state == "processing" and fighting.attempts == 1 and fighting.source_checkpoint
    assert board.current() == fighting and board.next_quest() is None  # one at a time
    done = board.mark_done(quest.id, report={"steps": 100})
    assert done.state == "done" and done.path == "quests/done/q.jsonl"
    assert (realm.root / done.path).is_file() and done.report["battle"] == {"steps": 100}
    assert board.current() is None


def test_only_one_quest_processing(realm: RealmPaths, board: Board) -> None:
    write(realm.quests / "inbox" / "a.jsonl", good_lines(1, "a"))
    write(realm.quests / "inbox" / "b.jsonl", good_lines(1, "b"))
    board.scan()
    board.mark_processing("a")
    with pytest.raises(InputError, match="being fought already"):
        board.mark_processing("b")


def test_retry_limit_then_failed_with_every_reason(realm: RealmPaths, board: Board) -> None:
    write(realm.quests / "inbox" / "high" / "tough.jsonl", good_lines(1))
    board.scan()
    for attempt in range(1, 4):
        board.mark_processing("tough")
        record = board.mark_failed("tough", f"loss exploded #{attempt}")
        assert record.state == "queued" and record.priority == "low" and record.attempts == attempt
        assert record.path == "quests/queue/low/tough.jsonl"
    board.mark_processing("tough")
    final = board.mark_failed("tough", "loss exploded #4")
    assert final.state == "failed" and final.attempts == 4 and final.path == "quests/failed/tough.jsonl"
    assert [r for r in final.reasons if "loss exploded" in r] == [
        f"attempt {n}: loss exploded #{n}" for n in range(1, 5)
    ]
    assert "gave up after 4 attempt(s)" in final.reasons[-1]
    assert board.next_quest() is None and (realm.root / final.path).is_file()
    with pytest.raises(InputError, match="it is failed"):
        board.mark_processing("tough")


def test_requeue_interrupted_battle(realm: RealmPaths, board: Board) -> None:
    write(realm.quests / "inbox" / "q.jsonl", good_lines(1))
    board.scan()
    board.mark_processing("q")
    (back,) = board.requeue_interrupted()
    assert back.state == "queued" and back.priority == "normal" and "interrupted" in back.reasons[-1]
    strict = Board(realm, board.store, policy=QuestPolicy(max_retries=0), clock=Clock())
    strict.mark_processing("q")
    (gone,) = strict.requeue_interrupted()
    assert gone.state == "failed"


def test_cancel_retry_prioritize(realm: RealmPaths, board: Board) -> None:
    write(realm.quests / "inbox" / "q.jsonl", good_lines(2))
    board.scan()
    moved = board.prioritize("q", "high")
    assert moved.priority == "high" and moved.path == "quests/queue/high/q.jsonl"
    cancelled = board.cancel("q")
    assert cancelled.state == "cancelled" and cancelled.path == "quests/failed/q.jsonl"
    assert board.next_quest() is None
    with pytest.raises(InputError, match="cannot cancel"):
        board.cancel("q")
    again = board.retry("q")
    assert again.state == "queued" and again.attempts == 0 and again.path == "quests/queue/high/q.jsonl"
    assert again.reasons[-1] == "retried by hand"
    with pytest.raises(InputError, match="cannot retry"):
        board.retry("q")


def test_find_by_prefix_and_errors(realm: RealmPaths, board: Board) -> None:
    write(realm.quests / "inbox" / "alpha.jsonl", good_lines(1, "a"))
    write(realm.quests / "inbox" / "alps.jsonl", good_lines(1, "b"))
    board.scan()
    assert board.find("alph").id == "alpha"
    with pytest.raises(InputError, match="matches 2 quests"):
        board.find("al")
    with pytest.raises(InputError, match="no quest 'zzz'"):
        board.find("zzz")


def test_partial_lines_queue_clean_copy_and_keep_the_original(realm: RealmPaths, board: Board) -> None:
    raw = [good_lines(1)[0], "{broken", line("b", "c"), '{"messages": []}', *good_lines(18, "more")]
    src = write(realm.quests / "inbox" / "mixed.jsonl", raw)  # 2 of 22 invalid: under the 10 % allowed
    original_bytes = src.read_bytes()
    (record,) = board.scan().queued
    queued = realm.root / record.path
    assert _lines(queued) == [raw[0], raw[2], *raw[4:]]  # invalid lines never reach training
    kept = realm.root / record.report["original"]
    assert kept.parent == realm.quests / "failed" and kept.read_bytes() == original_bytes
    report_text = (realm.root / record.report["report_file"]).read_text()
    assert f"{kept}:2: bad JSON" in report_text and f"{kept}:4: " in report_text
    assert record.report["validation"]["invalid"] == 2
    assert "2 invalid line(s) left out" in record.reasons[0]


def test_a_file_with_no_valid_line_fails_with_its_report(realm: RealmPaths, board: Board) -> None:
    src = write(realm.quests / "inbox" / "junk.jsonl", ["nope", "[1]"])
    data = src.read_bytes()
    (record,) = board.scan().failed
    assert record.state == "failed" and record.path == "quests/failed/junk.jsonl"
    assert (realm.root / record.path).read_bytes() == data  # moved, untouched
    assert "no valid example" in record.reasons[0]
    assert (realm.root / record.report["report_file"]).is_file()


def test_bad_file_among_good_ones_never_stops_the_campaign(realm: RealmPaths, board: Board) -> None:
    inbox = realm.quests / "inbox"
    for i, name in enumerate(["good1", "bad", "good2"]):
        path = write(inbox / f"{name}.jsonl", ["\xff garbage"] if name == "bad" else good_lines(2, name))
        age(path, 100 - i)
    (inbox / "weird.bin").write_bytes(os.urandom(64))
    age(inbox / "weird.bin", 10)
    result = board.scan()
    assert {r.id for r in result.failed} == {"bad", "weird"} and not result.errors
    served = []
    while (quest := board.next_quest()) is not None:
        board.mark_processing(quest.id)
        board.mark_done(quest.id)
        served.append(quest.id)
    assert served == ["good1", "good2"]
    assert "not a quest" in board.store.quests.require("weird").reasons[0]


@pytest.mark.parametrize("name", [".hidden.jsonl", "q.jsonl.part", "q.jsonl.tmp", "q.jsonl~", "~lock.jsonl"])
def test_files_in_progress_are_never_picked_up(realm: RealmPaths, board: Board, name: str) -> None:
    write(realm.quests / "inbox" / name, good_lines(1))
    assert is_in_progress(name)
    for _ in range(3):
        assert not board.scan().queued
    assert (realm.quests / "inbox" / name).exists()


def test_a_fresh_file_waits_for_a_second_unchanged_look(realm: RealmPaths, board: Board) -> None:
    path = write(realm.quests / "inbox" / "growing.jsonl", good_lines(1), old=False)
    first = board.scan()
    assert first.waiting == [path] and not first.queued
    with path.open("a", encoding="utf-8") as fh:  # still being written
        fh.write(good_lines(2, "more")[1] + "\n")
    assert board.scan().waiting == [path]
    (record,) = board.scan().queued  # unchanged between two looks: settled
    assert record.report["validation"]["valid"] == 2


def test_collisions_get_a_suffix_never_overwrite(realm: RealmPaths, board: Board) -> None:
    queue = realm.quests / "queue" / "normal"
    first = write(realm.quests / "inbox" / "same.jsonl", good_lines(1, "one"))
    board.scan()
    write(first, good_lines(1, "two"))
    (second,) = board.scan().queued
    assert second.id == "same-2" and second.path == "quests/queue/normal/same-1.jsonl"
    assert "one" in (queue / "same.jsonl").read_text() and "two" in (queue / "same-1.jsonl").read_text()


def test_move_unique_reserves_names(tmp_path: Path) -> None:
    folder = tmp_path / "dest"
    names = []
    for i in range(3):
        src = tmp_path / "x.jsonl"
        src.write_text(str(i))
        names.append(move_unique(src, folder).name)
    assert names == ["x.jsonl", "x-1.jsonl", "x-2.jsonl"]
    assert [(folder / n).read_text() for n in names] == ["0", "1", "2"]


def test_unknown_file_dropped_into_the_queue_is_adopted(realm: RealmPaths, board: Board) -> None:
    path = write(realm.quests / "queue" / "high" / "direct.jsonl", good_lines(10) + ["oops"])
    (record,) = board.scan().queued
    assert record.priority == "high" and record.path == "quests/queue/high/direct.jsonl"
    assert len(_lines(path)) == 10 and record.report["original"].startswith("quests/failed/")
    assert not board.scan().queued  # known now


def test_links_special_files_and_folders(realm: RealmPaths, board: Board, tmp_path: Path) -> None:
    inbox = realm.quests / "inbox"
    target = write(tmp_path / "elsewhere.jsonl", good_lines(1))
    (inbox / "link.jsonl").symlink_to(target)
    os.mkfifo(inbox / "pipe.jsonl")
    (inbox / "folder").mkdir()
    for name in ("link.jsonl", "pipe.jsonl"):
        age(inbox / name, 60)
    result = board.scan()
    reasons = {r.id: r.reasons[0] for r in result.failed}
    assert "a link" in reasons["link"] and "special file" in reasons["pipe"]
    assert (realm.quests / "failed" / "link.jsonl").is_symlink() and target.is_file()
    assert [p.name for p, _ in result.ignored] == ["folder"]


def test_queued_file_that_vanished_is_failed_and_skipped(realm: RealmPaths, board: Board) -> None:
    write(realm.quests / "inbox" / "a.jsonl", good_lines(1, "a"))
    write(realm.quests / "inbox" / "b.jsonl", good_lines(1, "b"))
    board.scan()
    (realm.root / board.store.quests.require("a").path).unlink()
    quest = board.next_quest()
    assert quest is not None and quest.id == "b"
    assert "is gone" in board.store.quests.require("a").reasons[-1]


def test_nothing_dropped_is_ever_deleted(realm: RealmPaths, board: Board) -> None:
    inbox = realm.quests / "inbox"
    contents = {
        "ok.jsonl": good_lines(2, "ok"),
        "mixed.jsonl": good_lines(1, "m") + ["bad"],
        "bad.jsonl": ["bad"],
        "notes.txt": ["hello"],
    }
    for name, text in contents.items():
        write(inbox / name, text)
    board.scan()
    every = b"".join(p.read_bytes() for p in all_files(realm.quests))
    for text in contents.values():
        for entry in text:
            assert entry.encode() in every


def test_add_file_copies_and_validates(realm: RealmPaths, board: Board, tmp_path: Path) -> None:
    src = write(tmp_path / "mine.jsonl", good_lines(9) + ["bad"])  # 10 % invalid: the most allowed
    record = board.add_file(src, "high")
    assert src.is_file() and len(_lines(src)) == 10  # the user's file is only read
    assert record.state == "queued" and len(_lines(realm.root / record.path)) == 9
    with pytest.raises(InputError, match="no valid example"):
        board.add_file(write(tmp_path / "junk.jsonl", ["x"]))
    with pytest.raises(InputError, match="not found"):
        board.add_file(tmp_path / "missing.jsonl")


def test_token_limit_applies_on_intake(realm: RealmPaths, store: Store) -> None:
    policy = QuestPolicy(max_invalid_share=0.5)
    board = Board(realm, store, policy=policy, max_tokens=60, count_tokens=len, clock=Clock())
    write(realm.quests / "inbox" / "long.jsonl", [line("x" * 200, "y"), line("short", "ok")])
    (record,) = board.scan().queued
    assert record.report["validation"]["by_level"]["tokens"] == 1
    assert [json.loads(x)["messages"][0]["content"] for x in _lines(realm.root / record.path)] == ["short"]


def test_our_stale_temp_files_are_cleaned_but_not_users(realm: RealmPaths, board: Board) -> None:
    queue = realm.quests / "queue" / "normal"
    ours = queue / ".realm-abc-x.jsonl.part"
    theirs = queue / ".their-file.part"
    for path in (ours, theirs):
        path.write_text("x")
        age(path, 7200)
    board.scan()
    assert not ours.exists() and theirs.exists()


def test_retry_after_giving_up_and_after_a_fix(realm: RealmPaths, board: Board) -> None:
    strict = Board(realm, board.store, policy=QuestPolicy(max_retries=0, settle_seconds=0), clock=Clock())
    write(realm.quests / "inbox" / "once.jsonl", good_lines(1))
    strict.scan()
    strict.mark_processing("once")
    assert strict.mark_failed("once", "boom").state == "failed"
    again = strict.retry("once", "high")
    assert again.state == "queued" and again.priority == "high" and again.attempts == 0
    assert [r.split(":")[0] for r in again.reasons] == ["attempt 1", "gave up after 1 attempt(s)", "retried by hand"]

    bad = write(realm.quests / "inbox" / "typo.jsonl", ["{oops"])
    (failed,) = strict.scan().failed
    still = strict.retry("typo")
    assert still.state == "failed" and still.path == failed.path  # still broken: stays put
    fixed = realm.root / failed.path
    fixed.write_text(good_lines(1)[0] + "\n")
    assert strict.retry("typo").state == "queued" and not bad.exists()


def test_board_actions_are_serialised(realm: RealmPaths, board: Board) -> None:
    import threading

    for i in range(6):
        write(realm.quests / "inbox" / f"q{i}.jsonl", good_lines(1, f"q{i}"))
    threads = [threading.Thread(target=board.scan) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.id for r in board.quests("queued")) == [f"q{i}" for i in range(6)]
    assert len(list((realm.quests / "queue" / "normal").glob("*.jsonl"))) == 6
