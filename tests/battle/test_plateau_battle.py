"""`realm train --stop-when plateau`: a real tiny battle whose BIN accuracy does not move stops on
its plateau before its steps run out; the campaign's milestones and event log keep the verdict,
the headless output and `realm campaign show` say it, and the exit code is 0 (a good ending)."""

from __future__ import annotations

import subprocess

from battle_kit import child_env, realm_cmd, run_json

from realm_tui.paths import RealmPaths
from realm_tui.store import Store

STEPS = 80


def test_battle_stops_on_plateau_with_the_verdict_recorded(tiny_realm: RealmPaths) -> None:
    code, events = run_json(tiny_realm, "--steps", str(STEPS), "--stop-when", "plateau", "--plateau-evals", "2")
    assert code == 0
    stopped = [e for e in events if e["event"] == "Stopped"][-1]
    assert stopped["reason"] == "plateau" and stopped["step"] < STEPS
    evals = [e for e in events if e["event"] == "EvalResult" and e["skill"] == "bin"]
    assert len(evals) >= 3, "a baseline and two evals that did not beat it"
    notes = [e["text"] for e in events if e["event"] == "Notification" and "Plateau" in e["text"]]
    assert len(notes) == 1 and "over the last 2 evals" in notes[0], notes

    with Store.open(tiny_realm.store_file) as store:
        (campaign,) = store.campaigns.all()
        plateaus = [m for m in campaign.milestones if m.get("kind") == "plateau"]
        logged = [e for e in store.events.all() if e.campaign_id == campaign.id]
    assert len(plateaus) == 1 and plateaus[0]["evals"] == 2
    assert plateaus[0]["reason"].startswith("plateau: no training-level accuracy improved over the last 2 evals")
    assert plateaus[0]["step"] <= stopped["step"]
    assert any(e.kind == "plateau" for e in logged)
    assert any(e.kind == "stopped" and e.data["reason"] == "plateau" for e in logged)

    shown = subprocess.run(
        realm_cmd(tiny_realm, "campaign", "show"), capture_output=True, text=True, timeout=60, env=child_env()
    )
    assert shown.returncode == 0, shown.stderr
    assert "plateau" in shown.stdout and "no training-level accuracy improved" in " ".join(shown.stdout.split())


def test_plateau_evals_without_the_plateau_rule_is_refused(tiny_realm: RealmPaths) -> None:
    out = subprocess.run(
        realm_cmd(tiny_realm, "train", "--no-ui", "--hero", "tiny", "--plateau-evals", "3"),
        capture_output=True,
        text=True,
        timeout=60,
        env=child_env(),
    )
    assert out.returncode != 0
    assert "--plateau-evals: only with --stop-when plateau" in out.stderr + out.stdout
