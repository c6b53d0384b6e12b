"""Issue 15, point 1: reads are never refused. While a real headless battle holds the store's
writer lock (and writes it at every checkpoint), every read-only command runs in a loop from
another process and answers from a consistent snapshot; the battle goes on training meanwhile."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from battle_kit import make_tiny_realm

from cli_kit import realm_cli
from live_battle import LiveBattle
from realm_tui.paths import RealmPaths
from realm_tui.store.holder import lock_holder

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # ~40 realm commands on a busy machine

ROUNDS = 3


@pytest.fixture
def keeping_realm(tmp_path: Path) -> RealmPaths:
    """The tiny realm, saving every 5 steps (many store writes) and keeping every checkpoint (an
    eval on one must not race the battle's retention, which is not what this test is about)."""
    realm = make_tiny_realm(tmp_path / "realm")
    hero_file = realm.configs / "heroes" / "tiny.yaml"
    hero = yaml.safe_load(hero_file.read_text())
    hero["retention"]["keep_last"] = 10_000
    hero_file.write_text(yaml.safe_dump(hero, allow_unicode=True))
    return realm


def test_every_read_only_command_works_while_a_battle_runs(
    keeping_realm: RealmPaths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tiny_realm = keeping_realm
    monkeypatch.setenv("COLUMNS", "250")  # rich tables and lines unwrapped: the checks read whole phrases
    battle = LiveBattle(tiny_realm, tmp_path / "battle.err", "--steps", "100000").start()
    try:
        quest = battle.wait_for(lambda e: e["event"] == "QuestStarted", "the quest's start")["quest_id"]
        saved = battle.wait_for(lambda e: e["event"] == "CheckpointSaved", "a first checkpoint")
        holder = lock_holder(tiny_realm.store_file)
        assert holder is not None and holder.pid == battle.pid and holder.is_battle
        started = len(battle.events)

        cheap = {
            ("quest", "list"): ["Quest Board", "A battle is running"],  # the quest may be done (hidden)
            ("quest", "list", "--all"): [quest],
            ("quest", "show", quest): [f"Quest {quest}", "Attempts"],
            ("skills",): ["Campaign", "Skills"],
            ("vault", "list"): [saved["name"]],
            ("campaign", "list"): ["Campaigns", "tiny"],
            ("campaign", "show"): ["hero tiny", "Checkpoints:"],
            ("armory", "profiles"): ["Memory profiles"],
            ("armory", "vram", "--hero", "tiny"): ["tiny"],
        }
        slow = {  # a torch child each (eval) or a torch import (doctor): one round
            ("eval", "--skill", "bin", "--level", "1", "--checkpoint", saved["name"], "--samples", "4"): ["bin L1:"],
            ("doctor",): ["A battle is running", f"pid {battle.pid}", "since", "at step", "once the running"],
        }
        for round_ in range(ROUNDS):
            commands = {**cheap, **(slow if round_ == 0 else {})}
            for args, expected in commands.items():
                out = realm_cli(tiny_realm.root, *args)
                said = out.stdout + out.stderr
                assert out.returncode == 0, f"realm {' '.join(args)} (round {round_ + 1}) failed:\n{said}"
                for text in expected:
                    assert text in said, f"realm {' '.join(args)}: {text!r} not in:\n{said}"
                assert "in use by another realm process" not in said
                assert battle.running, f"the battle ended during the reads: {battle.tail()}"

        # The battle kept training (and writing the store) while the commands read it.
        battle.wait_for(
            lambda e: e["event"] == "CheckpointSaved" and e["step"] > saved["step"], "a later save", started
        )
        out = realm_cli(tiny_realm.root, "vault", "list")
        assert out.returncode == 0 and out.stdout.count("step ") >= 2, out.stdout
    finally:
        battle.kill()
