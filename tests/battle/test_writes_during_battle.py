"""Issue 15, point 2 and "Bad input", against a real headless battle: while it holds the store, the
write commands from another process become requests the battle applies (each answered and
printed), hostile request files are refused and moved aside while the battle trains on, and
`realm battle pause|resume|stop` steer it. Waits on the battle's events, never on time."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from battle_kit import make_tiny_realm

from cli_kit import realm_cli
from live_battle import LiveBattle
from realm_tui.paths import RealmPaths

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

WAIT = ("--wait", "240")  # generous: a loaded 2-core machine; the default is 10 s


def quest_file(folder: Path) -> Path:
    rows = [
        {"messages": [{"role": "user", "content": f"q {i}"}, {"role": "assistant", "content": f"a {i}"}]}
        for i in range(8)
    ]
    path = folder / "more.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def run(realm: RealmPaths, battle: LiveBattle, *args: str, code: int = 0) -> str:
    out = realm_cli(realm.root, *args)
    said = out.stdout + out.stderr
    assert out.returncode == code, f"realm {' '.join(args)} -> {out.returncode}:\n{said}\n{battle.tail()}"
    if battle.running:
        assert f"applied by pid {battle.pid}" in out.stderr, said  # the battle applied it, not the command
    return said


def test_write_commands_and_steering_go_through_a_running_battle(tmp_path: Path) -> None:
    realm = make_tiny_realm(tmp_path / "realm")
    battle = LiveBattle(realm, tmp_path / "battle.err", "--steps", "100000").start()
    try:
        battle.wait_for(lambda e: e["event"] == "QuestStarted", "the quest's start")
        battle.wait_for(lambda e: e["event"] == "Step", "a first step")

        said = run(realm, battle, "quest", "add", str(quest_file(tmp_path)), "--priority", "low", *WAIT)
        found = re.search(r"queued (\S+): queued \(low\)", said)
        assert found, said
        new = found.group(1)
        assert f"moved {new}: queued (high)" in run(realm, battle, "quest", "prioritize", new, "high", *WAIT)
        assert f"cancelled {new}: cancelled (high)" in run(realm, battle, "quest", "cancel", new, *WAIT)
        assert f"retried {new}: queued (normal)" in run(realm, battle, "quest", "retry", new, "-p", "normal", *WAIT)
        campaign = battle.wait_for(lambda e: e["event"] == "Message" and "enters battle" in e["text"], "entry")
        cid = re.search(r"campaign (\S+),", campaign["text"]).group(1)  # type: ignore[union-attr]
        said = run(realm, battle, "campaign", "archive", cid, "-y", *WAIT, code=2)
        assert "the running battle fights for" in said
        said = run(realm, battle, "vault", "crown", "no-such-checkpoint", *WAIT, code=2)
        assert "no-such-checkpoint is not in the ledger" in said
        said = run(realm, battle, "quest", "forge", "--skill", "bin", "--level", "1", "--count", "20", *WAIT)
        assert re.search(r"forged \S+: queued \(normal\)", said), said
        said = run(realm, battle, "vault", "delete", "no-such-checkpoint", *WAIT, code=2)
        assert "no-such-checkpoint is not in the ledger" in said
        verbs = ("quest.add", "quest.prioritize", "quest.cancel", "quest.retry", "quest.forge", "campaign.archive")
        for verb in (*verbs, "vault.crown", "vault.delete"):
            battle.wait_for(
                lambda e, v=verb: e["event"] == "Message" and f"request {v} (" in e["text"], f"{verb} logged"
            )

        # Hostile request files: refused with a line in the battle's log, moved aside; it trains on.
        hostile = {
            "garbage.json": b"\x00\xff{{{",
            "huge.json": b'{"verb": "quest.cancel", "args": {"q": "' + b"x" * (65 * 1024) + b'"}}',
            "unknown.json": json.dumps({"verb": "store.drop", "args": {}}).encode(),
            "climb.json": json.dumps({"verb": "quest.add", "args": {"file": "../../../etc/passwd"}}).encode(),
        }
        for name, data in hostile.items():
            tmp = realm.requests / f".{name}.tmp"
            tmp.write_bytes(data)
            tmp.replace(realm.requests / name)
        refused = battle.wait_for(lambda e: "garbage.json" in str(e.get("text")), "the garbage refused")
        assert "refused and moved to rejected/" in refused["text"]
        for name in hostile:
            battle.wait_for(lambda e, n=name: n in str(e.get("text")) and "refused" in str(e["text"]), f"{name}")
            assert (realm.requests / "rejected" / name).exists()
        steps = len(battle.events)
        battle.wait_for(lambda e: e["event"] == "Step", "a step after the hostile requests", steps)

        assert "pausing at the next step boundary" in run(realm, battle, "battle", "pause", *WAIT)
        assert "resuming" in run(realm, battle, "battle", "resume", *WAIT)
        steps = len(battle.events)
        battle.wait_for(lambda e: e["event"] == "Step", "a step after resuming", steps)
        assert "stopping" in run(realm, battle, "battle", "stop", *WAIT)
        assert battle.wait_end() == 0, battle.tail()
        stopped = battle.wait_for(lambda e: e["event"] == "Stopped", "the stop")
        assert stopped["reason"] == "requested", stopped

        said = run(realm, battle, "battle", "stop", *WAIT, code=1)
        assert "no battle is running" in said
        assert not [p for p in realm.requests.iterdir() if p.suffix == ".json"]  # nothing left waiting
    finally:
        battle.kill()


def test_requests_left_while_no_battle_ran_are_applied_when_the_next_battle_starts(tmp_path: Path) -> None:
    from realm_tui.services import request_files as files

    realm = make_tiny_realm(tmp_path / "realm")
    staged = files.staged_dir(realm) / "left" / "more.jsonl"
    staged.parent.mkdir(parents=True)
    staged.write_text(quest_file(tmp_path).read_text())
    left = files.write_request(realm, "quest.add", {"file": "saves/requests/files/left/more.jsonl", "priority": "low"})
    stale = files.write_request(realm, "battle.stop", {})  # for a battle long gone: must not stop this one
    battle = LiveBattle(realm, tmp_path / "battle.err", "--steps", "100000").start()
    try:
        added = battle.wait_for(lambda e: f"request quest.add ({left.id})" in str(e.get("text")), "the left request")
        assert "queued" in added["text"] and "refused" not in added["text"], added
        refused = battle.wait_for(lambda e: f"({stale.id})" in str(e.get("text")), "the stale stop answered")
        assert "refused: written before this battle started" in refused["text"], refused
        steps = len(battle.events)
        battle.wait_for(lambda e: e["event"] == "Step", "a step after the stale stop", steps)
        assert battle.running
        assert "stopping" in run(realm, battle, "battle", "stop", *WAIT)
        assert battle.wait_end() == 0, battle.tail()
        assert not staged.parent.exists()  # the request's copy is gone once applied
    finally:
        battle.kill()
