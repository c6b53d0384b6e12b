"""Record factories and child-process helpers shared by the store tests."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from realm_tui.store import (
    AchievementRecord,
    CampaignRecord,
    CheckpointRecord,
    EvalRecord,
    EventRecord,
    HeroRecord,
    QuestRecord,
)
from realm_tui.store.storage import leftover_temp_files


def no_temp_files(path: Path) -> bool:
    return leftover_temp_files(path) == []


def child_env() -> dict[str, str]:
    """The environment for a child interpreter that imports realm_tui from this checkout."""
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[3] / "src")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    return env


def child_command(code: str, *args: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code), *args]


def run_child(code: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run a python snippet in a fresh interpreter and wait for it."""
    return subprocess.run(child_command(code, *args), capture_output=True, text=True, timeout=timeout, env=child_env())


def spawn_child(code: str, *args: str) -> subprocess.Popen[str]:
    """Start a python snippet in a fresh interpreter with pipes for stdin and stdout."""
    return subprocess.Popen(
        child_command(code, *args),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(),
    )


def hero(i: int = 0) -> HeroRecord:
    return HeroRecord(id=f"hero-{i}", name=f"Hero {i}", base_path=f"saves/heroes/hero-{i}/base", parameters=2_700_000)


def campaign(i: int = 0, hero_id: str = "hero-0", **kw: object) -> CampaignRecord:
    return CampaignRecord.model_validate({"id": f"camp-{i}", "hero_id": hero_id, "name": f"Campaign {i}", **kw})


def checkpoint(step: int, campaign_id: str = "camp-0", **kw: object) -> CheckpointRecord:
    fields: dict[str, object] = {
        "name": f"checkpoint-{step}-20250101-1200",
        "campaign_id": campaign_id,
        "hero_id": "hero-0",
        "step": step,
        "path": f"saves/checkpoints/checkpoint-{step}-20250101-1200",
        "train_loss": 1.5,
        "val_loss": 1.7,
        "lr": 1e-3,
        "created_at": 1_700_000_000.0 + step,
    }
    fields.update(kw)
    return CheckpointRecord.model_validate(fields)


def eval_record(
    step: int, skill: str = "bin", level: int = 1, campaign_id: str = "camp-0", acc: float = 0.5
) -> EvalRecord:
    return EvalRecord(campaign_id=campaign_id, step=step, skill=skill, level=level, accuracy=acc, total=10)


def quest(i: int, **kw: object) -> QuestRecord:
    fields: dict[str, object] = {"id": f"quest-{i}", "path": f"quests/queue/normal/quest-{i}.jsonl"}
    fields.update(kw)
    return QuestRecord.model_validate(fields)


def achievement(aid: str, campaign_id: str | None = "camp-0") -> AchievementRecord:
    return AchievementRecord(id=aid, campaign_id=campaign_id, title=aid.replace("_", " ").title())


def event(kind: str = "level_up", campaign_id: str | None = "camp-0", **data: object) -> EventRecord:
    return EventRecord(kind=kind, campaign_id=campaign_id, data=dict(data))
