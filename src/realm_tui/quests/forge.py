"""The Forge: quest files generated from a skill, and the idle behaviour that forges them.

`forge_quest` writes `train_{skill}_level{N}_{count}_{ts}.jsonl` into the queue through the board
(validated like any quest). Problems come from `skills.training_batch`, so a forged quest never
holds a question of the level's held-out eval set; the batch index grows with every quest forged
for that (skill, level), so each forged quest is new data.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from realm_tui.errors import InputError, RealmError
from realm_tui.quests.board import Board
from realm_tui.quests.content import example_key
from realm_tui.quests.files import temp_path
from realm_tui.store import QuestPriority, QuestRecord, Store

if TYPE_CHECKING:
    from realm_tui.skills import Problem

log = logging.getLogger(__name__)

MAX_FORGE_COUNT = 1_000_000


def forge_name(skill: str, level: int, count: int, stamp: str | None = None) -> str:
    stamp = stamp or time.strftime("%Y%m%d-%H%M%S")
    return f"train_{skill}_level{level}_{count}_{stamp}.jsonl"


def _forged(store: Store, skill: str | None = None, level: int | None = None) -> list[QuestRecord]:
    out = []
    for record in store.quests.all():
        info = record.report.get("forge")
        if not isinstance(info, dict):
            continue
        if (skill is None or info.get("skill") == skill) and (level is None or info.get("level") == level):
            out.append(record)
    return out


def forge_quest(
    board: Board,
    *,
    skill: str,
    level: int,
    count: int,
    priority: QuestPriority = "normal",
    idle: bool = False,
    system: str | None = None,
) -> QuestRecord:
    """Generate `count` training problems of `skill` at `level` and queue them as a quest.

    Raises InputError for an unknown skill, a level out of range or a generator failure.
    """
    if not 1 <= count <= MAX_FORGE_COUNT:
        raise InputError(None, f"--count must be 1..{MAX_FORGE_COUNT:,}, not {count}")
    from realm_tui.skills import get_skill, to_chat_jsonl, training_batch

    try:
        generator = get_skill(skill)
    except KeyError as err:
        raise InputError(None, str(err.args[0]) if err.args else f"unknown skill {skill!r}") from None
    if not 1 <= level <= generator.max_level:
        raise InputError(None, f"skill {skill} has levels 1..{generator.max_level}, not {level}")
    index = len(_forged(board.store, skill, level))
    try:
        problems = _distinct(training_batch(generator, level, count, index), count, system)
        if len(problems) < count:  # a small level repeats itself: draw further (same seed, longer run)
            problems = _distinct(training_batch(generator, level, 4 * count, index), count, system)
    except (ValueError, RuntimeError) as err:
        raise InputError(None, f"skill {skill} level {level}: could not generate problems: {err}") from None
    name = forge_name(skill, level, len(problems))
    tmp = temp_path(board.folders.queue(priority), name)
    try:
        to_chat_jsonl(problems, tmp, system=system)
        forge = {"skill": skill, "level": level, "count": count, "index": index, "idle": idle}
        extra: dict[str, Any] = {"forge": forge}
        return board.admit_generated(tmp, priority, name, extra)
    finally:
        tmp.unlink(missing_ok=True)


def _distinct(problems: list[Problem], count: int, system: str | None) -> list[Problem]:
    """The problems without exact repeats (a small level repeats itself; the board would drop them)."""
    seen: set[bytes] = set()
    out = []
    for problem in problems:
        key = example_key(problem.messages(system))
        if key not in seen:
            seen.add(key)
            out.append(problem)
    return out[:count]


def _choose_skill(weights: dict[str, float], forged: dict[str, int]) -> str:
    """Weighted fair rotation: the skill furthest behind its share of forged quests."""
    return max(sorted(weights), key=lambda s: weights[s] / (1 + forged.get(s, 0)))


def forge_for_idle(
    board: Board,
    hero: Any,
    skill_levels: dict[str, int],
    *,
    system: str | None = None,
    only: Collection[str] | None = None,
) -> Path | None:
    """When the queue is empty, forge quests per the hero's `idle` block; the first one's path.

    Up to `idle.forge_count` files of `idle.forge_batch` examples, spread over the skills of
    `idle.skill_priorities` by weight, each at the skill's training level (mastered + 1, from
    `skill_levels`). A skill already at its top level, or whose last idle quest at that level was
    rejected, is skipped. Returns None when the queue was not empty or nothing could be forged.
    `only`: the skills that may be forged (those the curriculum trains now; None: any).
    """
    idle = hero.idle
    if idle.forge_count <= 0 or not board.queue_empty():
        return None
    weights = {s: float(w) for s, w in idle.skill_priorities.items() if w > 0 and (only is None or s in only)}
    forged = {s: len([r for r in _forged(board.store, s) if r.report["forge"].get("idle")]) for s in weights}
    first: Path | None = None
    made = 0
    while made < idle.forge_count and weights:
        skill = _choose_skill(weights, forged)
        level = skill_levels.get(skill, 0) + 1
        previous = [r for r in _forged(board.store, skill, level) if r.report["forge"].get("idle")]
        if previous and previous[-1].state == "failed" and previous[-1].attempts == 0:
            log.warning("idle forge: skipping %s level %d: its last forged quest was rejected", skill, level)
            weights.pop(skill)
            continue
        try:
            record = forge_quest(board, skill=skill, level=level, count=idle.forge_batch, idle=True, system=system)
        except RealmError as err:
            log.warning("idle forge: skipping %s: %s", skill, err)
            weights.pop(skill)
            continue
        forged[skill] = forged.get(skill, 0) + 1
        if record.state != "queued":
            weights.pop(skill)
            continue
        made += 1
        first = first or board.path_of(record)
    return first
