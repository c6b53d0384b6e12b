"""Board hardening (audit of issue #6): odd file names, released quests, files edited after intake,
fresh sparring problems and the full check of an explicit `--quest` file."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from realm_tui.config.realm_config import load_realm_configs
from realm_tui.errors import InputError
from realm_tui.paths import RealmPaths
from realm_tui.quests.board import Board
from realm_tui.quests.files import MAX_STEM_BYTES, fit_name, reserve, safe_name
from realm_tui.quests.sparring import spar
from realm_tui.quests.validate import require_trainable_quest
from realm_tui.services.init_realm import init_realm
from realm_tui.skills import training_batch
from realm_tui.store import QuestRecord, Store

from ._helpers import age, all_files, good_lines, line, write


def _drop_bytes_name(folder: Path, name: bytes, data: bytes) -> Path:
    """A file whose name is raw bytes (maybe not UTF-8), as another program could leave it."""
    raw = os.path.join(os.fsencode(folder), name)
    fd = os.open(raw, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    path = Path(os.fsdecode(raw))
    age(path, 60)
    return path


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def test_an_undecodable_name_is_queued_under_a_safe_name(realm: RealmPaths, store: Store, board: Board) -> None:
    data = (line("hi", "yo") + "\n").encode()
    _drop_bytes_name(realm.quests / "inbox", b"bad\xffname.jsonl", data)
    _drop_bytes_name(realm.quests / "inbox", b"notes\xfe.txt", b"not a quest")
    result = board.scan()
    assert not result.errors and len(result.queued) == 1 and len(result.failed) == 1
    for record in store.quests.all():
        assert _utf8(record.path) and _utf8(json.dumps(record.report, ensure_ascii=False))
    (queued,) = result.queued
    assert queued.path == "quests/queue/normal/bad\ufffdname.jsonl"
    assert (realm.root / queued.path).read_bytes() == data
    assert (realm.root / result.failed[0].path).read_bytes() == b"not a quest"
    assert board.scan().errors == [] and board.next_quest() == queued  # the board is not jammed
    assert board.mark_processing(queued.id).state == "processing"


def test_a_long_name_keeps_its_report_and_record(realm: RealmPaths, store: Store, board: Board) -> None:
    stem = "x" * 249  # 255 bytes with .jsonl: the longest name the file system takes
    write(realm.quests / "inbox" / f"{stem}.jsonl", [*good_lines(9), "{oops"])
    undecodable = b"\xff" * 249 + b".jsonl"  # three bytes each once made UTF-8
    _drop_bytes_name(realm.quests / "inbox", undecodable, b"{oops\n")
    result = board.scan()
    assert not result.errors and len(result.queued) == 1 and len(result.failed) == 1
    (queued,) = result.queued
    assert queued.report["report_file"].endswith(".report.txt")
    assert ".jsonl:10: bad JSON" in (realm.root / queued.report["report_file"]).read_text()
    assert (realm.root / queued.report["original"]).read_bytes().endswith(b"{oops\n")
    assert (realm.root / result.failed[0].report["report_file"]).is_file()
    for path in all_files(realm.quests):
        assert len(os.fsencode(path.name)) <= 255
    assert len(store.quests.all()) == 2


def test_reserve_cuts_long_stems_and_still_never_overwrites(tmp_path: Path) -> None:
    name = "é" * 200 + ".jsonl"  # 406 bytes
    first, second = reserve(tmp_path, name), reserve(tmp_path, name)
    assert first != second and first.suffix == second.suffix == ".jsonl"
    assert len(first.stem.encode()) == MAX_STEM_BYTES and second.stem == f"{first.stem}-1"
    assert fit_name("a." + "b" * 300) == "a." + "b" * (MAX_STEM_BYTES - 2)  # no 300-byte "extension"
    assert safe_name(os.fsdecode(b"a\xff\xc3.jsonl")) == "a\ufffd\ufffd.jsonl"


def test_release_puts_a_stopped_quest_back_without_counting_it(realm: RealmPaths, board: Board) -> None:
    write(realm.quests / "inbox" / "high" / "good.jsonl", good_lines(2))
    (record,) = board.scan().queued
    for _ in range(board.policy.max_retries + 2):  # stopped by hand more often than retries allow
        assert board.mark_processing(record.id).attempts == 1
        released = board.release(record.id)
        assert released.state == "queued" and released.attempts == 0 and released.priority == "high"
        assert released.path == record.path and released.reasons == []
        assert board.next_quest() == released
    with pytest.raises(InputError, match="it is queued"):
        board.release(record.id)


def test_a_file_edited_after_intake_is_failed_for_good_and_the_next_one_served(realm: RealmPaths, board: Board) -> None:
    write(realm.quests / "inbox" / "high" / "edited.jsonl", good_lines(2))
    write(realm.quests / "inbox" / "fine.jsonl", good_lines(2, tag="f"))
    board.scan()
    edited, fine = board.quests("queued")
    (realm.root / edited.path).write_text(line() + "\n{oops\n", encoding="utf-8")
    assert board.next_sound_quest() == board.store.quests.require(fine.id)
    failed = board.store.quests.require(edited.id)
    assert failed.state == "failed" and failed.path == "quests/failed/edited.jsonl"
    assert "unusable since intake: 1 invalid line(s); first: line 2: bad JSON" in failed.reasons[0]
    assert "not retried" in failed.reasons[-1]
    assert "edited.jsonl:2: bad JSON" in (realm.root / failed.report["report_file"]).read_text()
    assert (realm.root / failed.path).read_text().endswith("{oops\n")  # kept as it is
    (realm.root / fine.path).unlink()
    assert board.next_sound_quest() is None


def test_mark_failed_final_never_requeues(realm: RealmPaths, board: Board) -> None:
    write(realm.quests / "inbox" / "q.jsonl", good_lines(1))
    (record,) = board.scan().queued
    board.mark_processing(record.id)
    failed = board.mark_failed(record.id, "cannot read it", final=True)
    assert failed.state == "failed" and failed.attempts == 1 and failed.path == "quests/failed/q.jsonl"


def test_sparring_problems_are_not_the_forged_ones() -> None:
    forged = {p.prompt for p in training_batch("bin", 10, 300, 0)}  # what forged quest 0 trained
    attempts, _ = spar("bin", 10, 100, lambda prompts: ["x"] * len(prompts), index=0)
    assert len(attempts) == 100 and not {a.prompt for a in attempts} & forged
    again, _ = spar("bin", 10, 100, lambda prompts: ["x"] * len(prompts), index=0)
    assert [a.prompt for a in again] == [a.prompt for a in attempts]  # a round is reproducible
    later, _ = spar("bin", 10, 100, lambda prompts: ["x"] * len(prompts), index=1)
    assert {a.prompt for a in later} != {a.prompt for a in attempts}


def test_an_explicit_quest_gets_every_check_with_the_hero(tmp_path: Path) -> None:
    realm, _ = init_realm(tmp_path / "realm")
    hero = load_realm_configs(realm.configs).hero("dio-nano")
    clean = write(tmp_path / "clean.jsonl", good_lines(3))
    assert require_trainable_quest(clean, realm, hero).ok
    loop = line("sing", "la " * 300)
    bad = write(tmp_path / "bad.jsonl", [loop, loop, line("a", "b"), line("a", "b")])
    with pytest.raises(InputError) as caught:
        require_trainable_quest(bad, realm, hero)
    message = str(caught.value)
    assert f"{bad}:1:" in message and f"{bad}:4: duplicate of line 3" in message
    assert f"realm quest add {bad}" in message and "nothing was trained" in message
    rng = random.Random(0)
    long_answer = line("q", "".join(rng.choice("abcdefgh ") for _ in range(hero.training_defaults.max_length * 3)))
    with pytest.raises(InputError, match="over the limit"):
        require_trainable_quest(write(tmp_path / "long.jsonl", [long_answer]), realm, hero)


@pytest.mark.parametrize("stored", [".", "", "quests", "quests/queue", "..", "../victim.jsonl", "/tmp/victim.jsonl"])
def test_failing_a_quest_never_moves_what_its_record_names_outside_the_board(
    realm: RealmPaths, store: Store, board: Board, stored: str
) -> None:
    # A skills-only battle's record had path "."; failed past its retries, the board moved the
    # whole realm folder into quests/failed/. A record's path is data: only board files move.
    before = sorted(p.relative_to(realm.root) for p in realm.root.rglob("*"))
    store.quests.upsert(QuestRecord(id="skills", path=stored, state="processing", attempts=99))
    for _ in range(2):
        board.requeue_interrupted()
    assert store.quests.get("skills").state == "failed"
    assert store.quests.get("skills").path == stored
    assert realm.root.is_dir() and (realm.root / "configs").is_dir() and (realm.root / "saves").is_dir()
    after = sorted(p.relative_to(realm.root) for p in realm.root.rglob("*"))
    assert [p for p in before if p not in after] == []
