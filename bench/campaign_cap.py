"""Campaign cap: does a dio-nano BIN campaign ever hear "maxed out", and when?

A fresh realm in a temp folder (`realm init`), the shipped dio-nano (idle forging off, so all
data comes from the curriculum), the shipped curriculum with only BIN enabled (strategy, review
share, level-cap rule: the defaults), then the real `realm train --no-ui --json`: the trainer
child trains and evaluates, the parent's ProgressionKeeper levels up, re-tests, flags
regressions, boosts review for them and judges the level cap. The run stops (SIGINT, graceful)
when the keeper says "Level cap reached" or after --minutes.

Prints, as they happen: each level mastered (minutes since the trainer said Hello, step), each
regression and recovery, and at every training-level eval the maintenance multiplier the keeper
sees (review ÷ new-level steps over the rule's window, rebuilt here from the same rules and the
campaign the keeper writes). At the end: the table of levels, the regressions, and the verdict
(the keeper's milestone if it came, else what the rule says now and why it does not fire).

    HF_HUB_OFFLINE=1 nice .venv/bin/python bench/campaign_cap.py [--minutes 120] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from realm_tui.battle.progression import review_share_with_maintenance
from realm_tui.config.realm_config import load_realm_configs
from realm_tui.rules import RecoveryEvent, RegressionEvent, StepMix, check_maxed_out, maintenance_over_window
from realm_tui.rules.progression import transition_from_record
from realm_tui.services.init_realm import init_realm
from realm_tui.store import CampaignRecord, Store

HERO = "dio-nano"


def prepare(root: Path) -> Path:
    realm, _ = init_realm(root)
    hero_file = realm.configs / "heroes" / f"{HERO}.yaml"
    hero = yaml.safe_load(hero_file.read_text(encoding="utf-8"))
    hero["idle"]["forge_count"] = 0  # the curriculum's data only: no forged quest
    hero_file.write_text(yaml.safe_dump(hero, allow_unicode=True, sort_keys=False), encoding="utf-8")
    cur_file = realm.configs / "curriculum.yaml"
    curriculum = yaml.safe_load(cur_file.read_text(encoding="utf-8"))
    curriculum["skills"] = {"bin": {"weight": 1.0, "enabled": True}, "sy": {"weight": 1.0, "enabled": False}}
    cur_file.write_text(yaml.safe_dump(curriculum, sort_keys=False), encoding="utf-8")
    return realm.root


def open_maintenance(campaign: CampaignRecord) -> list[int]:
    """BIN levels whose latest regression has not recovered (as the keeper counts them)."""
    state: dict[int, bool] = {}
    for m in campaign.milestones:
        if m.get("skill") == "bin" and m.get("kind") in ("regression", "recovered"):
            state[int(m["level"])] = m["kind"] == "regression"
    return sorted(level for level, is_open in state.items() if is_open)


class Ledger:
    """The keeper's review/new-level accounting, rebuilt from Step events and the campaign."""

    def __init__(self, store_file: Path, base_share: float, window: int) -> None:
        self.store_file = store_file
        self.base_share = base_share
        self.window = window
        self.mixes: list[StepMix] = []
        self.share = 0.0
        self.step = 0

    def campaign(self) -> CampaignRecord | None:
        with Store.open(self.store_file, readonly=True) as store:
            found = store.campaigns.by_hero(HERO)
        return found[-1] if found else None

    def refresh(self) -> None:
        """Re-read the mastered level and open regressions (they only change at evals)."""
        campaign = self.campaign()
        if campaign is None:
            return
        mastered = campaign.skill_levels.get("bin", 0)
        share = review_share_with_maintenance(self.base_share, len(open_maintenance(campaign)))
        self.share = share if mastered > 0 else 0.0

    def on_step(self, step: int) -> None:
        if step > self.step:
            n = step - self.step
            self.mixes.append(StepMix(step, n * self.share, n * (1 - self.share)))
            self.step = step

    def multiplier(self) -> tuple[float, float, float]:
        return maintenance_over_window(self.mixes, self.window)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=120.0, help="stop after this long (default 120)")
    parser.add_argument("--keep", type=Path, default=None, help="keep the realm in this folder")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="realm-cap-"))
    root = prepare(args.keep or tmp / "realm")
    configs = load_realm_configs(root / "configs")
    cap = configs.curriculum.level_cap
    ledger = Ledger(root / "saves" / "realm.json", configs.curriculum.review_share, cap.window_steps)
    print(
        f"dio-nano, BIN only, review_share {configs.curriculum.review_share}, level cap: multiplier > "
        f"{cap.maintenance_limit} over {cap.window_steps} steps (judged from {cap.min_window_steps}), "
        f"or {cap.costly_level_ups} costly level-ups in a row; limit {args.minutes:.0f} min",
        flush=True,
    )
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1", OMP_WAIT_POLICY="PASSIVE")
    cmd = [sys.executable, "-m", "realm_tui", "--home", str(root), "train", "--no-ui", "--json", "--hero", HERO]
    proc = subprocess.Popen([*cmd, "--steps", "10000000"], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    hello_at: float | None = None
    regressions: list[tuple[float, int, str]] = []
    maxed_note = ""
    stopping = False
    started = time.time()

    def minutes() -> float:
        return (time.time() - (hello_at or started)) / 60

    try:
        for line in proc.stdout:
            if not line.startswith("{"):
                continue
            event: dict[str, Any] = json.loads(line)
            kind = event["event"]
            if kind == "Hello":
                hello_at = time.time()
                print(f"trainer pid {event['pid']}: {event['parameters']:,} parameters", flush=True)
            elif kind == "Step":
                ledger.on_step(int(event["step"]))
            elif kind == "EvalResult":
                ledger.refresh()
                mult, review, new = ledger.multiplier()
                tag = " re-test" if event.get("request_id") else ""
                print(
                    f"{minutes():6.1f} min  step {event['step']:6d}  L{event['level']}{tag:8s} "
                    f"{event['accuracy']:6.1%}   multiplier {mult:.2f} (review {review:.0f} / new {new:.0f})",
                    flush=True,
                )
            elif kind == "Notification":
                text = str(event.get("text", ""))
                print(f"{minutes():6.1f} min  ✨ {text}", flush=True)
                ledger.refresh()
                if "slipping" in text:
                    regressions.append((minutes(), ledger.step, text))
                if "Level cap reached" in text:
                    maxed_note = text
            elif kind in ("Error", "Stopped"):
                print(f"  {kind}: {event.get('message') or event.get('reason')}", flush=True)
            over_time = hello_at is not None and time.time() - hello_at > args.minutes * 60
            if not stopping and (maxed_note or over_time):
                stopping = True
                proc.send_signal(signal.SIGINT)
        proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    report(ledger, regressions, maxed_note, cap, hello_at or started)
    if args.keep is None:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def report(
    ledger: Ledger, regressions: list[tuple[float, int, str]], maxed_note: str, cap: Any, started: float
) -> None:
    campaign = ledger.campaign()
    if campaign is None:
        print("no campaign was made")
        return
    print(f"\nwall {(time.time() - started) / 60:.1f} min, {campaign.current_step} steps, status {campaign.status}")
    print("level  step   accuracy at mastery   minutes after start")
    for t in campaign.transitions:
        at = float(t.get("at") or started)
        print(f"  L{t['to']:<3} {t['step']:6d}   {float(t['accuracy']):6.1%}               {(at - started) / 60:6.1f}")
    if not campaign.transitions:
        print("  (no level mastered)")
    print(f"regressions: {len(regressions)}")
    for m in campaign.milestones:
        if m.get("kind") in ("regression", "recovered"):
            print(f"  step {m['step']:6d}  {m['kind']:10s} L{m['level']}  accuracy {float(m['accuracy']):.0%}")
    mult, review, new = ledger.multiplier()
    print(f"maintenance multiplier at the end: {mult:.2f} (review {review:.0f} / new {new:.0f} steps in the window)")
    events: list[Any] = [transition_from_record(t) for t in campaign.transitions]
    for m in campaign.milestones:
        if m.get("kind") == "regression":
            events.append(RegressionEvent(int(m["step"]), "bin", int(m["level"])))
        elif m.get("kind") == "recovered":
            events.append(RecoveryEvent(int(m["step"]), "bin", int(m["level"])))
    verdict = check_maxed_out(
        sorted(events, key=lambda e: e.step),
        review,
        new,
        limit=cap.maintenance_limit,
        costly_limit=cap.costly_level_ups,
        min_window_steps=cap.min_window_steps,
    )
    milestone = next((m for m in campaign.milestones if m.get("kind") == "maxed_out"), None)
    if milestone is not None:
        print(f"VERDICT: maxed out at step {milestone['step']}: {milestone['reason']}")
    else:
        print(f"VERDICT: not maxed out within the limit. The rule now: {verdict.reason}")
    if maxed_note and milestone is None:
        print(f"(notification without a milestone: {maxed_note})")


if __name__ == "__main__":
    sys.exit(main())
