"""Helpers for the UI tests: a deterministic fixture realm, a scripted trainer bridge, a fake oracle.

A uniquely named module (like `trainer_testkit`) so test files and spawned children can import it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from realm_tui.battle.telemetry import GpuReading, HardwareReport
from realm_tui.contract.manifest import write_manifest
from realm_tui.contract.protocol import (
    CheckpointSaved,
    Command,
    EvalResult,
    Evaluate,
    Event,
    Hello,
    Pause,
    QuestFinished,
    QuestStarted,
    Resume,
    Step,
    Stop,
    Stopped,
    TrainJob,
)
from realm_tui.contract.protocol import Error as ErrorEvent
from realm_tui.paths import RealmPaths
from realm_tui.services.init_realm import init_realm
from realm_tui.skills.versions import data_version
from realm_tui.store import (
    AchievementRecord,
    CampaignRecord,
    CheckpointRecord,
    EvalRecord,
    EventRecord,
    HeroRecord,
    QuestRecord,
    Store,
)

T0 = 1_767_225_600.0
"""2026-01-01 00:00:00 UTC: every stored time in the fixture is T0 + a fixed offset."""
CAMPAIGN = "dio-nano-20260101-000000"
DISK = (500 * 2**30, 377 * 2**30, 123 * 2**30)
"""Fake (total, used, free) so the Vault shows the same disk on every machine."""

TINY_HERO = """\
id: tiny
name: Tiny Tester
description: A hero of two layers, for tests.
portrait: |
   (o.o)
   /|_|\\
model:
  builder: nano
  nano: {hidden_size: 64, num_layers: 2, num_heads: 2, num_kv_heads: 1, head_dim: 32,
         intermediate_size: 128, max_position_embeddings: 256, seed: 7}
  size_b: 0.0001
memory_profile: cpu_tiny
training_defaults:
  batch_size: 4
  gradient_accumulation: 1
  learning_rate: 3.0e-3
  warmup_steps: 2
  max_length: 128
  save_steps: 1000
  save_minutes: 30.0
  precision: fp32
  val_fraction: 0.1
  eval_every_steps: 1000
steps_per_level: 1000
"""


def chat_lines(n: int, seed: int = 0, bad_every: int = 0) -> str:
    out = []
    for i in range(n):
        if bad_every and i % bad_every == bad_every - 1:
            out.append('{"messages": "not a list"}')
            continue
        a, b = (i * 7 + seed) % 16, (i * 3 + seed) % 16
        turns = [{"role": "user", "content": f"{a:b} + {b:b} ="}, {"role": "assistant", "content": f"{a + b:b}"}]
        row = {"messages": turns}
        out.append(json.dumps(row))
    return "\n".join(out) + "\n"


QUEUE = (
    ("high", "urgent-bits", 12),
    ("normal", "sy-drills", 40),
    ("normal", "mixed-bag", 25),
    ("low", "warmup", 8),
)


def _checkpoint_folder(realm: RealmPaths, name: str, step: int, size: int = 4096) -> Path:
    folder = realm.checkpoints / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.safetensors").write_bytes(bytes(size))
    (folder / "config.json").write_text(json.dumps({"model_type": "qwen3", "step": step}))
    (folder / "trainer_state.pt").write_bytes(b"state")
    write_manifest(folder, {"step": step, "name": name})
    return folder


def build_fixture_realm(root: Path) -> RealmPaths:
    """A realm with a campaign, four checkpoints, evals, quests in every state, and history."""
    realm, _ = init_realm(root)
    for i, (priority, stem, n) in enumerate(QUEUE):
        path = realm.quests / "queue" / priority / f"{stem}.jsonl"
        path.write_text(chat_lines(n, seed=i))
        os.utime(path, (T0 + i, T0 + i))
    failed = realm.quests / "failed" / "broken.jsonl"
    failed.write_text(chat_lines(6, bad_every=1))
    done = realm.quests / "done" / "first-steps.jsonl"
    done.write_text(chat_lines(20, seed=9))
    for i, p in enumerate((failed, done)):
        os.utime(p, (T0 + 10 + i, T0 + 10 + i))
    with Store.open(realm.store_file) as store:
        store.heroes.add(HeroRecord(id="dio-nano", name="Dio the Small", created_at=T0))
        store.campaigns.add(
            CampaignRecord(
                id=CAMPAIGN,
                hero_id="dio-nano",
                name="dio-nano campaign",
                created_at=T0,
                updated_at=T0 + 9000,
                current_step=2400,
                skill_levels={"bin": 3, "sy": 1},
                peaks={"lowest_loss": 0.412, "highest_accuracy": 0.86},
                effort={"bin": 12.5, "sy": 4.25},
                transitions=[
                    {"skill": "bin", "from_level": 2, "to_level": 3, "step": 1800, "efficiency": 0.052},
                    {"skill": "sy", "from_level": 0, "to_level": 1, "step": 1200, "efficiency": 0.031},
                ],
                gold=300,  # rules.rewards: 2 quests, 2 levels gained in its transitions
                quests_completed=2,
            )
        )
        checkpoints = (
            ("checkpoint-1000-20260101-0300", 1000, 0.91, 0.95, "blessed", False),
            ("checkpoint-1800-20260101-0400", 1800, 0.55, 0.61, "blessed", True),
            ("checkpoint-2200-20260101-0500", 2200, 0.47, 0.58, "partial", False),
            ("checkpoint-2400-20260101-0600", 2400, 0.412, 0.57, None, False),
        )
        for i, (name, step, loss, val, blessing, champion) in enumerate(checkpoints):
            folder = _checkpoint_folder(realm, name, step, size=4096 * (i + 1))
            store.ledger.add(
                CheckpointRecord(
                    name=name,
                    campaign_id=CAMPAIGN,
                    hero_id="dio-nano",
                    step=step,
                    created_at=T0 + 3600 * (3 + i),
                    path=folder.relative_to(realm.root).as_posix(),
                    train_loss=loss,
                    val_loss=val,
                    lr=1e-3,
                    quest_id="sy-drills",
                    skill_levels={"bin": min(3, 1 + i), "sy": 1 if i else 0},
                    size_bytes=36_000_000 + i * 1_000_000,
                    blessing=blessing,
                    quality=0.85 if blessing == "blessed" else None,
                    champion=champion,
                )
            )
        evals = [
            ("bin", 3, 1400, 0.82),
            ("bin", 3, 1600, 0.85),
            ("bin", 3, 1800, 0.86),
            ("bin", 4, 2000, 0.62),
            ("bin", 4, 2200, 0.71),
            ("bin", 4, 2400, 0.78),
            ("sy", 2, 2200, 0.35),
            ("sy", 2, 2400, 0.48),
        ]
        for i, (skill, level, step, acc) in enumerate(evals):
            prims = ["logic_chain", "xfm_encode"] if skill == "bin" else ["mem_recall", "fmt_json"]
            results = [{"prompt": f"p{j}", "correct": (j * 10) < acc * 100, "primitives": prims} for j in range(10)]
            store.evals.add(
                EvalRecord(
                    campaign_id=CAMPAIGN,
                    step=step,
                    skill=skill,
                    level=level,
                    accuracy=acc,
                    total=10,
                    results=results,
                    created_at=T0 + 100 * i,
                    data_version=data_version(skill),  # graded by today's generators
                )
            )
        for i, (priority, stem, n) in enumerate(QUEUE):
            path = f"quests/queue/{priority}/{stem}.jsonl"
            store.quests.add(
                QuestRecord(
                    id=stem,
                    path=path,
                    priority=priority,  # type: ignore[arg-type]
                    state="queued",
                    report={"examples": n},
                    created_at=T0 + i,
                    updated_at=T0 + i,
                )
            )
        store.quests.add(
            QuestRecord(
                id="broken",
                path="quests/failed/broken.jsonl",
                state="failed",
                attempts=1,
                reasons=["quests/failed/broken.jsonl:2: messages must be a list", "3 of 6 lines are invalid"],
                created_at=T0,
                updated_at=T0,
            )
        )
        store.quests.add(
            QuestRecord(
                id="first-steps",
                path="quests/done/first-steps.jsonl",
                state="done",
                attempts=1,
                report={"examples": 20},
                created_at=T0,
                updated_at=T0,
            )
        )
        unlocked = ("first_step", "first_checkpoint", "first_level_up", "first_skill_level", "first_quest")
        for i, ach in enumerate(unlocked):
            store.achievements.unlock(AchievementRecord(id=ach, campaign_id=CAMPAIGN, unlocked_at=T0 + i, title=ach))
        history = [
            ("quest_complete", {"quest": "first-steps", "steps": 600}, 1000),
            ("level_up", {"level": 1, "step": 1000}, 3600),
            ("quest_complete", {"quest": "bin-basics", "steps": 800}, 5400),
            ("level_up", {"level": 2, "step": 2000}, 7200),
            ("stopped", {"reason": "requested", "step": 2400, "checkpoint": "checkpoint-2400-20260101-0600"}, 9000),
        ]
        for kind, data, offset in history:
            store.events.add(EventRecord(kind=kind, campaign_id=CAMPAIGN, at=T0 + offset, data=data))
    return realm


def add_tiny_hero(realm: RealmPaths, *, quest_lines: int = 64) -> None:
    """The tiny hero (hidden 64, 2 layers), the active campaign, a small queued quest, no skill mix."""
    (realm.heroes_config / "tiny.yaml").write_text(TINY_HERO)
    curriculum = realm.configs / "curriculum.yaml"
    text = curriculum.read_text().replace("quest_share: 0.5", "quest_share: 1.0")
    curriculum.write_text(text)
    quest = realm.quests / "queue" / "high" / "tiny-quest.jsonl"
    quest.write_text(chat_lines(quest_lines, seed=3))
    with Store.open(realm.store_file) as store:
        for c in store.campaigns.all():
            if c.status == "active":
                store.campaigns.update(c.id, status="paused")
        store.campaigns.add(CampaignRecord(id="tiny-campaign", hero_id="tiny", name="tiny campaign"))


def copy_realm(source: Path, dest: Path) -> RealmPaths:
    shutil.copytree(source, dest, symlinks=True)
    return RealmPaths(dest)


# ---------------------------------------------------------------- a scripted trainer


@dataclass
class FakeBridge:
    """Speaks like `TrainerBridge`, in-process: one Step per `events()` call unless paused.

    `crash_at`: emit a crash at that step. `metrics`: what every Step carries in `Step.metrics`
    (a school's numbers). Checkpoints are real folders with a valid manifest, so the conductor
    commits them to the ledger.
    """

    crash_at: int | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    mix: dict[str, int] = field(default_factory=dict)
    """What every Step carries in `Step.mix` (examples per source)."""
    loss_start: float = 2.0
    job: TrainJob | None = None
    sent: list[Command] = field(default_factory=list)
    step: int = 0
    paused: bool = False
    done: bool = False
    queue: list[Event] = field(default_factory=list)
    asked: list[Evaluate] = field(default_factory=list)
    """`Evaluate` commands not answered yet: each gets an `EvalResult` with the next Step."""
    silent_on: str | None = None
    """An `Evaluate.request_id` this bridge never answers (a trainer still busy with those evals)."""

    @property
    def pid(self) -> int | None:
        return 4242

    def start(self, job: TrainJob) -> None:
        self.job = job
        self.step = self._start_step(job)
        self.queue += [
            Hello(pid=4242, torch_version="fake", device="cpu", precision="fp32", hero_id=job.hero_id),
            QuestStarted(job.quest_id, tuple(job.quest_paths), 64, 2048),
        ]

    @staticmethod
    def _start_step(job: TrainJob) -> int:
        if job.resume_from:
            name = Path(job.resume_from).name
            try:
                return int(name.split("-")[1])
            except (IndexError, ValueError):
                return 0
        return 0

    def send(self, command: Command) -> bool:
        self.sent.append(command)
        if isinstance(command, Pause):
            self.paused = True
        elif isinstance(command, Resume):
            self.paused = False
        elif isinstance(command, Stop):
            self._finish(command.reason)
        elif isinstance(command, Evaluate) and command.request_id != self.silent_on:
            self.asked.append(command)
        return not self.done

    def stop(self, reason: str = "requested") -> bool:
        return self.send(Stop(reason=reason))

    def _checkpoint(self) -> CheckpointSaved:
        assert self.job is not None
        name = f"checkpoint-{self.step}-20260102-0000"
        folder = Path(self.job.checkpoints_dir) / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "model.safetensors").write_bytes(bytes(1024))
        (folder / "config.json").write_text("{}")
        write_manifest(folder, {"step": self.step, "name": name})
        loss = self.loss_start / (1 + self.step)
        return CheckpointSaved(self.step, str(folder), name, loss, loss * 1.1, 1e-3, 1024, quest_id=self.job.quest_id)

    def _finish(self, reason: str) -> None:
        if self.done:
            return
        self.done = True
        saved = self._checkpoint()
        self.queue += [saved, Stopped(self.step, reason, saved.path)]

    def events(self, timeout: float = 0.1) -> list[Event]:
        import time

        assert self.job is not None
        time.sleep(min(timeout, 0.05))
        if not self.done and not self.paused and not self.queue:
            self.step += 1
            loss = self.loss_start / (1 + 0.1 * self.step)
            step = Step(self.step, self.job.max_steps, loss, 1e-3, 0.5, 1000.0, 10.0, self.step * 256)
            self.queue.append(dataclasses.replace(step, metrics=dict(self.metrics), mix=dict(self.mix)))
            for ask in self.asked:
                self.queue.append(EvalResult(self.step, ask.skill, ask.level, 0.5, 10, request_id=ask.request_id))
            self.asked = []
            if self.crash_at is not None and self.step >= self.crash_at:
                self.done = True
                self.queue += [ErrorEvent("trainer crashed: boom", fatal=True, kind="crash"), Stopped(-1, "crashed")]
            elif self.step >= self.job.max_steps:
                self.done = True
                saved = self._checkpoint()
                self.queue += [saved, QuestFinished(self.job.quest_id, self.step, loss), Stopped(self.step, "finished")]
        # Drained in place, never swapped for a new list: a test appends to `queue` from the app's
        # thread while this runs in the battle's worker, and an event appended to a list already
        # taken and read was lost (1 run in 6 beside two busy loops: a save row never cleared).
        out = []
        while self.queue:
            out.append(self.queue.pop(0))
        return out

    def close(self, grace: float = 30.0) -> None:
        self.done = True

    def kill(self) -> None:
        self.done = True


# ---------------------------------------------------------------- a fake oracle child


def fake_oracle_main(conn: Connection) -> None:
    """Answers every question with a few words, one chunk each (no torch)."""
    from realm_tui.contract.oracle import OracleAsk, OracleChunk, OracleLoad, OracleLoaded

    while True:
        try:
            cmd: Any = conn.recv()
        except (EOFError, OSError):
            return
        if isinstance(cmd, OracleLoad):
            conn.send(OracleLoaded(cmd.label, "{% fake template %}", 1234))
        elif isinstance(cmd, OracleAsk):
            question = cmd.messages[-1][1]
            turns = "".join(f"<|im_start|>{role}\n{text}<|im_end|>\n" for role, text in cmd.messages)
            conn.send(OracleChunk(cmd.request_id, "", prompt=f"{turns}<|im_start|>assistant\n"))
            for word in ["The", " oracle", " hears:", f" {question}"]:
                conn.send(OracleChunk(cmd.request_id, word))
            conn.send(OracleChunk(cmd.request_id, "", done=True, tokens=4))


FIXED_GPU = GpuReading(0, "Fake GPU", 87.0, 12 * 2**30, 24 * 2**30, 71.0, 250.0)
"""A pinned machine for the hardware panels (this machine has no GPU; snapshots must not move)."""


def fixed_hardware() -> HardwareReport:
    return HardwareReport(0.0, (FIXED_GPU,), "", 45.0, 2, 3 * 2**30, 12 * 2**30, 24 * 2**30)
