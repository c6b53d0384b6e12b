"""Issue 15, point 2 and "Bad input": the request path of `services.requests`, from the outside.

Another process really holds the store's writer lock (a small holder subprocess, as a battle
would); requests are real files in saves/requests/, applied by a real writer over a real store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from realm_tui.errors import RealmError
from realm_tui.paths import RealmPaths
from realm_tui.services import request_files as files
from realm_tui.services.init_realm import init_realm
from realm_tui.services.requests import BattleContext, apply_pending, submit, write
from realm_tui.store import Store

HOLD = (
    "import sys; from pathlib import Path; from realm_tui.store.lock import StoreLock\n"
    "lock = StoreLock(Path(sys.argv[1])); lock.acquire(); print('held', flush=True); sys.stdin.read()"
)


def quest_lines(n: int = 6) -> str:
    rows = [
        {"messages": [{"role": "user", "content": f"q {i}"}, {"role": "assistant", "content": f"a {i}"}]}
        for i in range(n)
    ]
    return "".join(json.dumps(r) + "\n" for r in rows)


@pytest.fixture
def realm(tmp_path: Path) -> RealmPaths:
    return init_realm(tmp_path / "realm")[0]


@pytest.fixture
def quest_file(tmp_path: Path) -> Path:
    path = tmp_path / "outside" / "drills.jsonl"
    path.parent.mkdir()
    path.write_text(quest_lines())
    return path


class Holder:
    """Another process holding the writer lock until :meth:`release`."""

    def __init__(self, realm: RealmPaths) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[2] / "src"), os.environ.get("PYTHONPATH", "")]),
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLD, str(realm.store_file)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "held"

    def release(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(60)


@pytest.fixture
def holder(realm: RealmPaths) -> Iterator[Holder]:
    held = Holder(realm)
    yield held
    held.release()


def quests_of(realm: RealmPaths) -> list[tuple[str, str]]:
    with Store.open(realm.store_file, readonly=True) as store:
        return sorted((q.state, q.priority) for q in store.quests.all())


def test_a_free_store_is_written_directly(realm: RealmPaths, quest_file: Path) -> None:
    answer = write(realm, "quest.add", {"file": str(quest_file), "priority": "high"})
    assert not answer.queued and answer.result.ok, answer
    assert answer.result.lines[0][1].startswith("queued ")
    assert quests_of(realm) == [("queued", "high")]
    assert files.pending(realm) == []


def test_a_request_left_while_a_battle_held_the_store_is_applied_by_the_next_writer(
    realm: RealmPaths, quest_file: Path, holder: Holder
) -> None:
    answer = write(realm, "quest.add", {"file": str(quest_file)}, wait=False)
    assert answer.queued and len(files.pending(realm)) == 1
    request = json.loads((realm.requests / files.pending(realm)[0]).read_text())
    assert request["verb"] == "quest.add" and request["pid"] == os.getpid()
    assert request["args"]["file"].startswith("saves/requests/files/")  # a copy inside the realm
    assert quests_of(realm) == []
    holder.release()  # the battle ended before it applied the request
    quest_file.unlink()  # the request carries its own copy
    answer = write(realm, "battle.stop", {})
    assert not answer.queued
    assert any("applied an earlier request quest.add" in note for note in answer.notes), answer.notes
    assert answer.result.error == "no battle is running: nothing to stop"
    assert quests_of(realm) == [("queued", "normal")]
    assert files.pending(realm) == [] and not any(files.staged_dir(realm).iterdir())


def test_a_waiting_command_applies_its_request_itself_once_the_holder_is_gone(
    realm: RealmPaths, quest_file: Path, holder: Holder
) -> None:
    def end_the_battle_once_the_request_is_there() -> None:
        while not files.pending(realm):
            threading.Event().wait(0.02)
        holder.release()

    threading.Thread(target=end_the_battle_once_the_request_is_there, daemon=True).start()
    answer = write(realm, "quest.add", {"file": str(quest_file)}, wait_s=300)
    assert answer.queued and answer.result.ok and answer.result.applied_by == os.getpid()
    assert quests_of(realm) == [("queued", "normal")]


def test_no_answer_in_time_is_a_clear_queued_message(realm: RealmPaths, holder: Holder) -> None:
    with pytest.raises(
        RealmError, match=r"\(quest.cancel\) is queued; the game applies it within seconds when it holds the store"
    ) as err:
        submit(realm, "quest.cancel", {"quest": "nope"}, wait_s=0.2)
    assert f"pid {holder.proc.pid}" in str(err.value)  # the holder here is no battle: who it is
    assert len(files.pending(realm)) == 1  # still there for the battle (or the next writer)


def test_a_battle_applies_requests_and_steers_itself(realm: RealmPaths, quest_file: Path) -> None:
    steered: list[str] = []
    files.write_request(realm, "battle.pause", {})  # written before this battle: not for it
    battle = BattleContext(started=files.time.time(), campaign_id="c-1", control=lambda v: steered.append(v) or "ok")
    files.write_request(realm, "battle.stop", {})
    said: list[str] = []
    with Store.open(realm.store_file) as store:
        results = apply_pending(realm, store, battle=battle, say=said.append)
    assert [(r.verb, r.ok) for r in results] == [("battle.pause", False), ("battle.stop", True)]
    assert "before this battle started" in results[0].error
    assert steered == ["battle.stop"] and len(said) == 2
    assert sorted(p.name for p in files.done_dir(realm).iterdir()) == sorted(f"{r.id}.json" for r in results)


HOSTILE = {
    "garbage.json": b"\x00\xffnot json at all",
    "huge.json": b'{"verb": "quest.cancel", "args": {"quest": "' + b"x" * (70 * 1024) + b'"}}',
    "unknown.json": json.dumps({"verb": "realm.destroy", "args": {}}).encode(),
    "climb.json": json.dumps({"verb": "quest.add", "args": {"file": "../../etc/passwd"}}).encode(),
    "absolute.json": json.dumps({"verb": "quest.add", "args": {"file": "/etc/passwd"}}).encode(),
    "list.json": b"[1, 2, 3]",
    "extra.json": json.dumps({"verb": "quest.cancel", "args": {"quest": "q", "rm": "-rf"}}).encode(),
    "bad name!.json": json.dumps({"verb": "battle.stop", "args": {}}).encode(),
    "priority.json": json.dumps({"verb": "quest.prioritize", "args": {"quest": "q", "priority": "../../x"}}).encode(),
    "id.json": json.dumps({"verb": "vault.delete", "args": {"name": "../checkpoints"}}).encode(),
}


def test_hostile_request_files_are_refused_and_moved_aside(realm: RealmPaths, quest_file: Path, tmp_path: Path) -> None:
    realm.requests.mkdir(parents=True)
    for name, data in HOSTILE.items():
        (realm.requests / name).write_bytes(data)
    outside = tmp_path / "secret.json"
    outside.write_text(json.dumps({"verb": "battle.stop", "args": {}}))
    (realm.requests / "link.json").symlink_to(outside)
    good = files.write_request(realm, "quest.add", {"file": str(quest_file)})  # a direct caller's absolute path:
    said: list[str] = []
    with Store.open(realm.store_file) as store:
        results = apply_pending(realm, store, say=said.append)
    # even the well-formed one is refused: a request's file must lie inside the realm
    assert results == []
    rejected = {p.name for p in files.rejected_dir(realm).iterdir() if not p.name.endswith(".why.txt")}
    assert rejected == {*HOSTILE, "link.json", f"{good.id}.json"}
    assert files.pending(realm) == [] and len(said) == len(rejected)
    assert all("refused and moved to rejected/" in line for line in said)
    why = {name: (files.rejected_dir(realm) / f"{name}.why.txt").read_text() for name in rejected}
    assert "not JSON" in why["garbage.json"] and "over the 65536 bytes" in why["huge.json"]
    assert "unknown verb 'realm.destroy'" in why["unknown.json"] and "climbs out" in why["climb.json"]
    assert "is absolute" in why["absolute.json"] and "not a plain file" in why["link.json"]
    assert "takes no argument 'rm'" in why["extra.json"] and "not a request file name" in why["bad name!.json"]
    assert "priority must be one of high, low, normal" in why["priority.json"]
    assert "'../checkpoints' is not an id" in why["id.json"]
    assert outside.exists() and quests_of(realm) == []


def test_answers_nobody_came_for_are_pruned_by_a_later_writer(realm: RealmPaths) -> None:
    old = files.Result("old-1", "battle.stop", True)
    fresh = files.Result("fresh-1", "battle.stop", True)
    for result in (old, fresh):
        files.write_atomic(files.done_dir(realm) / f"{result.id}.json", json.dumps(files.asdict(result)))
    stamp = files.time.time() - files.ANSWER_KEPT_S - 60
    os.utime(files.done_dir(realm) / "old-1.json", (stamp, stamp))
    write(realm, "battle.pause", {})
    assert [p.name for p in files.done_dir(realm).iterdir()] == ["fresh-1.json"]
