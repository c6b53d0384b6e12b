"""What the board takes in is what trains (issue 13 defects 3 and 4, issue 11 point 6), from the
outside: `realm init`, files dropped into quests/inbox/, `realm quest …` as a subprocess."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cli_kit import realm_cli as realm
from realm_tui.store import Store

from ._helpers import age, good_lines, line


@pytest.fixture
def home(tmp_path: Path) -> Path:
    root = tmp_path / "realm"
    out = subprocess.run([sys.executable, "-m", "realm_tui", "init", str(root)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return root


def quests(home: Path) -> dict[str, object]:
    with Store.open(home / "saves" / "realm.json", readonly=True) as store:
        return {q.id: q for q in store.quests.all()}


def chat(*turns: tuple[str, str]) -> str:
    return json.dumps({"messages": [{"role": r, "content": c} for r, c in turns]})


# ---------------------------------------------------------------- defect 3: appended lines


def test_lines_appended_after_intake_never_reach_the_queue(home: Path) -> None:
    inbox = home / "quests" / "inbox" / "growing.jsonl"
    valid = good_lines(5, "v")
    with inbox.open("a", encoding="utf-8") as writer:  # a writer that keeps the file open
        writer.write("".join(f"{text}\n" for text in valid))
        writer.flush()
        age(inbox, 60)  # quiet for a minute: the board takes it
        out = realm(home, "quest", "list")
        assert out.returncode == 0, out.stderr
        assert "Picked up 1 file(s)" in out.stdout
        # ... and then the writer goes on: an empty answer, a duplicate, a looping answer
        for late in (line("late", ""), valid[0], line("loop", "ha " * 200)):
            writer.write(late + "\n")
        writer.flush()
    (record,) = quests(home).values()
    served = home / record.path  # type: ignore[attr-defined]
    assert served.read_text(encoding="utf-8").splitlines() == valid
    # the board serves exactly what it validated, also when a battle asks for it
    out = realm(home, "quest", "validate", str(served))
    assert out.returncode == 0 and ": ok" in out.stdout, out.stdout
    assert not inbox.exists()  # the dropped file left the inbox (its late lines are not lost: see below)


def test_a_file_that_changed_while_it_was_read_keeps_its_original(tmp_path: Path) -> None:
    from realm_tui.quests.board import Board
    from realm_tui.quests.policy import QuestPolicy

    from ._helpers import Clock, make_realm, write

    paths = make_realm(tmp_path / "realm")
    src = write(paths.quests / "inbox" / "q.jsonl", good_lines(3))
    with Store.open(paths.store_file) as store:
        board = Board(paths, store, policy=QuestPolicy(settle_seconds=0), clock=Clock())
        validate = board.intake.validate

        def validate_then_append(source: Path, clean_to: Path | None = None):  # type: ignore[no-untyped-def]
            report = validate(source, clean_to)
            with source.open("a", encoding="utf-8") as late:  # lands after the read, before the move
                late.write(line("late", "") + "\n")
            return report

        board.intake.validate = validate_then_append  # type: ignore[method-assign]
        (record,) = board.scan().queued
    assert (paths.root / record.path).read_text().splitlines() == good_lines(3)
    kept = paths.root / record.report["original"]
    assert kept.parent.name == "failed" and kept.read_text().splitlines()[-1] == line("late", "")
    assert any("changed while it was taken in" in r for r in record.reasons)
    assert not src.exists()


# ---------------------------------------------------------------- defect 4: role order

WRONG_ORDER = {
    "assistant first": chat(("assistant", "hi"), ("user", "q"), ("assistant", "a")),
    "system last": chat(("user", "q"), ("assistant", "a"), ("system", "s")),
    "two user turns": chat(("user", "q"), ("user", "q2"), ("assistant", "a")),
    "assistant only": chat(("assistant", "a")),
    "user last": chat(("user", "q"), ("assistant", "a"), ("user", "q2")),
    "system in the middle": chat(("user", "q"), ("system", "s"), ("assistant", "a")),
}


@pytest.mark.parametrize("kind", sorted(WRONG_ORDER))
def test_conversations_in_the_wrong_order_are_refused_with_file_line_reason(
    home: Path, tmp_path: Path, kind: str
) -> None:
    path = tmp_path / "order.jsonl"
    path.write_text(line("fine", "ok") + "\n" + WRONG_ORDER[kind] + "\n", encoding="utf-8")
    out = realm(home, "quest", "validate", str(path))
    assert out.returncode == 2, out.stdout
    shown = " ".join(out.stdout.split())
    assert re.search(rf"{re.escape(str(path))}:2: messages\[\d\]\.role is \w+[;,a-z ]+.* \[schema\]", shown), shown
    out = realm(home, "validate", str(path))  # `realm validate FILE` makes the same check
    assert out.returncode == 2 and f"{path}:2: messages[" in out.stderr, out.stderr


def test_right_orders_still_pass(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "ok.jsonl"
    rows = [
        chat(("user", "q"), ("assistant", "a")),
        chat(("system", "s"), ("user", "q"), ("assistant", "a")),
        chat(("system", "s"), ("user", "q"), ("assistant", "a"), ("user", "q2"), ("assistant", "a2")),
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = realm(home, "quest", "validate", str(path))
    assert out.returncode == 0 and ": ok" in out.stdout, out.stdout


def test_shipped_quests_and_modules_pass_the_order_check() -> None:
    from realm_tui.quests.validate import LEVELS, validate_quest_file

    repo = Path(__file__).resolve().parents[3]
    files = sorted((repo / "quests").rglob("*.jsonl"))
    assert files, "the repo ships quest module data"
    for path in files:
        report = validate_quest_file(path, levels=LEVELS)
        assert report.ok, report.summary()


# ---------------------------------------------------------------- issue 11.6: junk never trains quietly


def test_a_quest_that_is_mostly_junk_goes_to_failed_with_every_reason(home: Path) -> None:
    inbox = home / "quests" / "inbox"
    junk = inbox / "junk.jsonl"
    junk.write_text("\n".join([line("a", "b"), "{bad", chat(("assistant", "first"))]) + "\n", encoding="utf-8")
    age(junk, 60)
    fine = inbox / "mostly-fine.jsonl"
    fine.write_text("\n".join([*good_lines(10, "f"), "{bad"]) + "\n", encoding="utf-8")  # 1 of 11: 9 %
    age(fine, 60)
    out = realm(home, "quest", "list", "--all")
    assert out.returncode == 0, out.stderr
    records = quests(home)
    failed, queued = records["junk"], records["mostly-fine"]
    assert failed.state == "failed" and queued.state == "queued"  # type: ignore[attr-defined]
    assert (home / failed.path).parent == home / "quests" / "failed"  # type: ignore[attr-defined]
    assert "2 of 3 lines invalid (67 %, more than the 10 % allowed" in failed.reasons[0]  # type: ignore[attr-defined]
    report = (home / failed.report["report_file"]).read_text()  # type: ignore[attr-defined]
    assert "junk.jsonl:2: bad JSON" in report and "junk.jsonl:3: messages[0].role is assistant" in report
    assert not list((home / "quests" / "queue").rglob("junk*"))  # nothing of it is queued
    shown = realm(home, "quest", "show", "junk")
    assert "bad JSON" in shown.stdout and "more than the 10 %" in " ".join(shown.stdout.split())


def test_the_junk_share_is_set_in_configs_quests_yaml(home: Path) -> None:
    (home / "configs" / "quests.yaml").write_text("max_invalid_share: 0.5\n")
    junk = home / "quests" / "inbox" / "half.jsonl"
    junk.write_text("\n".join([line("a", "b"), line("c", "d"), "{bad"]) + "\n", encoding="utf-8")  # 33 %
    age(junk, 60)
    assert realm(home, "quest", "list").returncode == 0
    assert quests(home)["half"].state == "queued"  # type: ignore[attr-defined]


def test_quest_add_refuses_a_mostly_junk_file(home: Path, tmp_path: Path) -> None:
    src = tmp_path / "mine.jsonl"
    src.write_text("\n".join([line("a", "b"), "{bad", "{worse"]) + "\n", encoding="utf-8")
    out = realm(home, "quest", "add", str(src))
    assert out.returncode == 2, out.stdout + out.stderr
    assert "2 of 3 lines invalid" in out.stderr and "nothing was queued" in out.stderr
    assert not quests(home)


def test_a_queued_file_edited_since_intake_is_validated_again_before_serving(tmp_path: Path) -> None:
    from realm_tui.quests.board import Board
    from realm_tui.quests.policy import QuestPolicy

    from ._helpers import Clock, make_realm, write

    paths = make_realm(tmp_path / "realm")
    write(paths.quests / "inbox" / "a.jsonl", good_lines(3, "a"))
    write(paths.quests / "inbox" / "b.jsonl", good_lines(3, "b"))
    with Store.open(paths.store_file) as store:
        board = Board(paths, store, policy=QuestPolicy(settle_seconds=0), clock=Clock())
        board.scan()
        a = store.quests.require("a")
        assert len(a.report["sha256"]) == 64
        served = paths.root / a.path
        with served.open("a", encoding="utf-8") as late:  # schema-valid, but a duplicate
            late.write(good_lines(3, "a")[0] + "\n")
        record = board.next_sound_quest()
        assert record is not None and record.id == "b"  # a is not served as edited
        failed = store.quests.require("a")
        assert failed.state == "failed" and "unusable since intake" in " ".join(failed.reasons)
        assert "duplicate of line 1" in (paths.root / failed.report["report_file"]).read_text()
        assert board.next_sound_quest() is not None  # b, unchanged, is served without a second look


def test_generated_quests_are_not_held_to_the_junk_share(tmp_path: Path) -> None:
    """Sparring examples too long for the hero are left out, not a reason to drop the rest."""
    from realm_tui.quests.board import Board
    from realm_tui.quests.policy import QuestPolicy

    from ._helpers import Clock, make_realm

    paths = make_realm(tmp_path / "realm")
    with Store.open(paths.store_file) as store:
        board = Board(paths, store, policy=QuestPolicy(max_tokens=40), clock=Clock())
        tmp = paths.quests / "queue" / "high" / ".realm-test.part"
        tmp.write_text("\n".join([line("q", "a"), line("x" * 400, "y"), line("z" * 400, "w")]) + "\n")
        record = board.admit_generated(tmp, "high", "spar.jsonl", {"sparring": {"skill": "bin"}})
        assert record.state == "queued" and record.report["validation"]["invalid"] == 2
        dropped = paths.quests / "inbox" / "same.jsonl"
        dropped.write_text("\n".join([line("q", "a"), line("x" * 400, "y"), line("z" * 400, "w")]) + "\n")
        assert board.intake.admit(dropped, "normal").state == "failed"  # a player's file: junk share holds
