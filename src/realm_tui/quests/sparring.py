"""The Mirror school: sparring turns each wrong answer of the hero into three training examples.

1. **identify-incorrect**: the problem and the hero's wrong answer → "INCORRECT" and the gold;
2. **correct-it**: the problem and the wrong answer, asked to fix it → the gold answer;
3. **confirm-correct**: the problem and the gold answer → "CORRECT".

The transformation is pure (`sparring_examples`, `sparring_lines`). `spar` runs a whole round
given a `generate` callable (prompts → answers): `realm quest spar` passes the hero answering in a
child process (`realm_tui.services.answerer.HeroAnswerer.answer`), and `queue_sparring` puts the
examples on the board at high priority, recording the checkpoint that answered. For the Judge
school, `preference_lines` turns the same wrong answers into `{"prompt", "chosen", "rejected"}`
pairs (chosen = gold, rejected = the hero's answer) and `write_preferences` puts them in
`quests/preferences/` (`realm quest spar --preferences`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from realm_tui.errors import RealmError

if TYPE_CHECKING:
    from pathlib import Path

    from realm_tui.quests.board import Board
    from realm_tui.store import QuestRecord

IDENTIFY = "Is this answer correct? Reply CORRECT or INCORRECT; if it is incorrect, give the correct answer."
CORRECT_IT = "This answer is wrong. Give the correct answer."
NO_ANSWER = "(no answer)"

SPARRING_INDEX_BASE = 1 << 50
"""Sparring round N draws training batch `SPARRING_INDEX_BASE + N`: a range of its own, so the
problems are fresh, never the batch forged quest N (batch index N) just trained the hero on."""

Generate = Callable[[Sequence[str]], Sequence[str]]
"""Answers of the hero to a batch of prompts, in order."""


class NotYet(RealmError):
    """A feature whose engine has not landed yet."""


@dataclass(frozen=True)
class Attempt:
    """One sparring question: the prompt, the gold answer and what the hero answered."""

    prompt: str
    gold: str
    answer: str
    correct: bool


def _turns(system: str | None, user: str, assistant: str) -> dict[str, Any]:
    messages = [{"role": "system", "content": system}] if system else []
    messages += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
    return {"messages": messages}


def sparring_examples(prompt: str, gold: str, wrong: str, *, system: str | None = None) -> list[dict[str, Any]]:
    """The three chat examples for one wrong answer (ValueError if it equals the gold)."""
    if not gold.strip():
        raise ValueError("the gold answer is empty")
    if wrong.strip() == gold.strip():
        raise ValueError("the answer equals the gold answer: nothing to correct")
    shown = wrong.strip() or NO_ANSWER
    return [
        _turns(system, f"{prompt}\n\nProposed answer:\n{shown}\n\n{IDENTIFY}", f"INCORRECT\n{gold}"),
        _turns(system, f"{prompt}\n\n{CORRECT_IT}\nWrong answer:\n{shown}", gold),
        _turns(system, f"{prompt}\n\nProposed answer:\n{gold}\n\n{IDENTIFY}", "CORRECT"),
    ]


def sparring_lines(attempts: Iterable[Attempt], *, system: str | None = None) -> list[str]:
    """JSONL lines (without newline) for every wrong attempt; correct ones give nothing."""
    lines = []
    for attempt in attempts:
        if attempt.correct or attempt.answer.strip() == attempt.gold.strip():
            continue
        for example in sparring_examples(attempt.prompt, attempt.gold, attempt.answer, system=system):
            lines.append(json.dumps(example, ensure_ascii=False))
    return lines


def spar(
    skill: str, level: int, count: int, generate: Generate | None, *, index: int = 0
) -> tuple[list[Attempt], list[str]]:
    """One sparring round: `count` fresh problems, the hero's answers, the examples to queue.

    `index` is the round (`sparring_rounds`); its problems come from the sparring batches
    (`SPARRING_INDEX_BASE + index`), never from a forged quest's. `generate` answers prompts with
    the hero; without one this raises NotYet.
    """
    if generate is None:
        raise NotYet(
            "sparring is not available yet: it needs the hero to answer problems (a generate "
            "callable). Forge quests meanwhile: realm quest forge --skill SKILL"
        )
    from realm_tui.skills import get_skill, training_batch
    from realm_tui.skills.judging import judge_all

    generator = get_skill(skill)
    # Small levels repeat questions within a batch; the board would drop the repeats as duplicates,
    # so draw twice as many and keep the first `count` distinct prompts.
    distinct: dict[str, Any] = {}
    for problem in training_batch(generator, level, 2 * count, SPARRING_INDEX_BASE + index):
        distinct.setdefault(problem.prompt, problem)
    problems = list(distinct.values())[:count]
    answers = list(generate([p.prompt for p in problems]))
    if len(answers) != len(problems):
        raise RealmError(f"sparring: {len(problems)} prompts but {len(answers)} answers")
    verdicts = judge_all(generator, problems, answers)  # the Arena judges its samples the same way
    attempts = [
        Attempt(p.prompt, p.expected, a, v.correct) for p, a, v in zip(problems, answers, verdicts, strict=True)
    ]
    return attempts, sparring_lines(attempts)


def sparring_rounds(board: Board, skill: str, level: int) -> int:
    """How many sparring quests of (skill, level) the board knows: the next round's number."""
    count = 0
    for record in board.store.quests.all():
        info = record.report.get("sparring")
        if isinstance(info, dict) and info.get("skill") == skill and info.get("level") == level:
            count += 1
    return count


def queue_sparring(
    board: Board,
    *,
    skill: str,
    level: int,
    attempts: Sequence[Attempt],
    lines: Sequence[str],
    source_checkpoint: str | None,
    index: int,
) -> QuestRecord | None:
    """Queue the round's examples at high priority (None when the hero made no mistake)."""
    if not lines:
        return None
    import time

    from realm_tui.quests.files import temp_path

    wrong = sum(1 for a in attempts if not a.correct)
    name = f"spar_{skill}_level{level}_{len(lines)}_{time.strftime('%Y%m%d-%H%M%S')}.jsonl"
    tmp = temp_path(board.folders.queue("high"), name)
    try:
        tmp.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        info = {
            "skill": skill,
            "level": level,
            "index": index,
            "problems": len(attempts),
            "wrong": wrong,
            "accuracy": (len(attempts) - wrong) / len(attempts) if attempts else None,
            "source_checkpoint": source_checkpoint,
        }
        record = board.admit_generated(tmp, "high", name, {"sparring": info})
    finally:
        tmp.unlink(missing_ok=True)
    return board.store.quests.update(record.id, source_checkpoint=source_checkpoint)


# ---------------------------------------------------------------- preference pairs (the Judge)

PREFERENCES_FOLDER = "preferences"
"""`quests/preferences/`: preference quests from sparring. Outside the board's queue on purpose:
a scribe battle served one would fail it as a chat quest; `realm train --school judge --quest
FILE` trains on it."""


def preference_lines(attempts: Iterable[Attempt], *, system: str | None = None) -> list[str]:
    """`{"prompt", "chosen", "rejected"}` JSONL lines (without newline) for the Judge school (DPO).

    One per wrong attempt: the prompt as the chat messages of the problem (optional system turn,
    then the user turn, as forged quests write them), chosen = the gold answer, rejected = the
    hero's wrong answer. An empty answer gives no pair: it has no token for DPO to push down."""
    lines = []
    for attempt in attempts:
        wrong, gold = attempt.answer.strip(), attempt.gold.strip()
        if attempt.correct or not wrong or not gold or wrong == gold:
            continue
        prompt = [{"role": "system", "content": system}] if system else []
        prompt.append({"role": "user", "content": attempt.prompt})
        pair = {"prompt": prompt, "chosen": attempt.gold, "rejected": attempt.answer}
        lines.append(json.dumps(pair, ensure_ascii=False))
    return lines


def write_preferences(quests: Path, *, skill: str, level: int, lines: Sequence[str]) -> Path | None:
    """Write the pairs to `quests/preferences/` (never over another file) and validate them with the
    judge's own check; the path, or None when there is no pair."""
    if not lines:
        return None
    import time

    from realm_tui.quests.files import install_unique, temp_path
    from realm_tui.quests.preference_data import require_valid_preferences

    folder = quests / PREFERENCES_FOLDER
    name = f"prefs_{skill}_level{level}_{len(lines)}_{time.strftime('%Y%m%d-%H%M%S')}.jsonl"
    tmp = temp_path(folder, name)
    try:
        tmp.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        require_valid_preferences(tmp)
        return install_unique(tmp, folder, name)
    finally:
        tmp.unlink(missing_ok=True)
