"""What every skill shares: the `Problem` record, the `Skill` protocol, and `SkillBase`, which
turns a one-problem maker into deterministic batches, a fixed held-out eval pool and training
batches that never contain an eval question."""

from __future__ import annotations

import hashlib
import random
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

from realm_tui.config.skill import MAX_EVAL_SAMPLES, SkillConfig

Message = dict[str, str]
"""One chat message: {"role": "system" | "user" | "assistant", "content": "..."}."""

EVAL_POOL_SIZE = MAX_EVAL_SAMPLES
"""Questions reserved for evaluation per (skill, level); eval sets are prefixes of this pool."""

TINY_SPACE_EVAL_SHARE = 4
"""Where a level has only N distinct questions, at most N // this many are held out for eval."""

WHOLE_SPACE_BELOW = 64
"""A question family (a level, or BIN's operation at a level) with fewer distinct questions than
this is evaluated on ALL of them, and training uses all of them too: that part of the eval set
overlaps training on purpose. Holding out a quarter of, say, BIN level 1's 16 sums would leave 12
to learn a rule from and measure it on 4 questions (accuracy in steps of 25%); holding out level
3's increments would take 13 of its 16 and leave training almost none. At that size a family is a
table to learn, and the eval checks the whole table. `held_out(problem)` tells the two apart;
`eval_overlaps_training(level)` flags levels with such a family. Bigger families keep a held-out
set that training never sees."""

MAX_DRAWS_PER_PROBLEM = 50
"""Draws allowed per wanted problem before a batch gives up on finding new questions."""

_EVAL_BIT = 1 << 63


def _hash64(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def training_seed(skill: str, level: int, index: int) -> int:
    """Seed of training batch `index` at (skill, level): always below 2**63."""
    return _hash64(f"realm/train/{skill}/{level}/{index}") & (_EVAL_BIT - 1)


def eval_seed(skill: str, level: int) -> int:
    """Seed of the one held-out eval pool of (skill, level): always 2**63 or above, so it can
    never equal a training seed. Stable across runs, machines and Python versions."""
    return _hash64(f"realm/eval/{skill}/{level}") | _EVAL_BIT


@dataclass(frozen=True)
class Problem:
    """One generated question with its gold answer.

    `meta` carries what an independent checker needs (operands, words, ...) and `meta["qid"]`,
    the identity of the underlying question: two problems with the same qid ask the same thing
    (say, the same sum in a different tier or with a different symbol key). Eval/training
    separation works on qids. `meta` is JSON-serialisable and excluded from hashing.
    """

    skill: str
    level: int
    prompt: str
    expected: str
    """The exact gold answer text, as the assistant turn of a training example."""
    primitives: tuple[str, ...]
    tier: str = "plain"
    meta: dict[str, Any] = field(default_factory=dict, hash=False)

    @property
    def qid(self) -> str:
        """Identity of the underlying question (see the class docstring)."""
        return str(self.meta.get("qid", self.prompt))

    def messages(self, system: str | None = None) -> list[Message]:
        """Chat messages for a training JSONL line: optional system, user prompt, gold answer."""
        out: list[Message] = []
        if system:
            out.append({"role": "system", "content": system})
        out.append({"role": "user", "content": self.prompt})
        out.append({"role": "assistant", "content": self.expected})
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (for an eval record or a quest file)."""
        return {
            "skill": self.skill,
            "level": self.level,
            "tier": self.tier,
            "prompt": self.prompt,
            "expected": self.expected,
            "primitives": list(self.primitives),
            "meta": self.meta,
        }


@runtime_checkable
class Skill(Protocol):
    """A skill: a generator and scorer for every level 1..max_level."""

    @property
    def id(self) -> str: ...

    @property
    def max_level(self) -> int: ...

    @property
    def primitives(self) -> tuple[str, ...]: ...

    def generate(self, level: int, n: int, seed: int) -> list[Problem]:
        """`n` problems at `level`; the same seed always gives the same problems."""
        ...

    def score(self, problem: Problem, answer_text: str) -> bool:
        """Whether `answer_text` (a model's output) gets `problem` right."""
        ...


class SkillBase(ABC):
    """Shared machinery; subclasses implement `make_one` and `score`."""

    skill_id: ClassVar[str]

    def __init__(self, config: SkillConfig) -> None:
        if config.id != self.skill_id:
            raise ValueError(f"{type(self).__name__} needs a {self.skill_id!r} config, got {config.id!r}")
        self.config = config
        self._eval_pools: dict[int, list[Problem]] = {}
        self._reserved_prompts: dict[int, frozenset[str]] = {}

    @property
    def id(self) -> str:
        return self.skill_id

    @property
    def max_level(self) -> int:
        return self.config.max_level

    @property
    def primitives(self) -> tuple[str, ...]:
        return self.config.primitives

    @abstractmethod
    def make_one(self, level: int, rng: random.Random) -> Problem:
        """One problem at `level`, drawing every random choice from `rng`."""

    @abstractmethod
    def score(self, problem: Problem, answer_text: str) -> bool:
        """Whether `answer_text` gets `problem` right."""

    def partial_credit(self, problem: Problem, answer_text: str) -> float:
        """How much of the answer is right, 0..1 (the Arena's optional partial reward); the
        default knows only right or wrong. A skill overrides it with a share it can measure
        (BIN: the result's right symbols, SY: the right words)."""
        return 1.0 if self.score(problem, answer_text) else 0.0

    def well_formed(self, problem: Problem, answer_text: str) -> bool:
        """Whether the answer has the shape a right answer has, right or not (the Arena's format
        reward). The default accepts any non-empty answer."""
        return bool(answer_text.strip())

    def difficulty(self, level: int) -> dict[str, float]:
        """How hard `level` is, one number per dial (higher = harder), read from the config.
        A level is never easier than the one below: no number may fall from one level to the
        next (`skills.checks.falling_difficulty`, `realm validate`)."""
        return {}

    def can_still_score(self, problem: Problem, prefix: str, more_chars: int) -> bool:
        """False only when no answer that starts with `prefix` and has at most `more_chars` more
        characters can make `score` true: an eval stops decoding that answer there. The default
        never gives up (a skill overrides it only with a proof from its own scorer)."""
        return True

    def question_space(self, level: int) -> int | None:
        """How many distinct questions (qids) `level` can produce, when that is small enough to
        matter for held-out evaluation; None when it is effectively unlimited."""
        return None

    def generate(self, level: int, n: int, seed: int) -> list[Problem]:
        """`n` problems at `level`, deterministic in `seed` (no eval exclusion: see
        `training_batch` for that)."""
        self.config.check_level(level)
        rng = random.Random(seed)
        return [self.make_one(level, rng) for _ in range(n)]

    def question_families(self, level: int) -> dict[str, int | None] | None:
        """Distinct questions (qids) per *family* of `level` (BIN: per operation), None for one
        family of `question_space(level)` questions. The held-out policy works per family, so a
        tiny family inside a big level (BIN level 3's 16 increments next to 256 sums) is not
        swallowed whole by the eval pool."""
        return None

    def family_of(self, problem: Problem) -> str:
        """The family of `problem` (see `question_families`)."""
        return ""

    def _families(self, level: int) -> dict[str, int | None]:
        families = self.question_families(level)
        return families if families is not None else {"": self.question_space(level)}

    def _open_families(self, level: int) -> set[str]:
        """Families evaluated on all their questions, which training uses too (WHOLE_SPACE_BELOW)."""
        return {f for f, space in self._families(level).items() if space is not None and space < WHOLE_SPACE_BELOW}

    def eval_overlaps_training(self, level: int) -> bool:
        """True when part of the level's eval set is a whole tiny family that training uses too
        (see WHOLE_SPACE_BELOW); False when every eval question is held out."""
        return bool(self._open_families(level))

    def held_out(self, problem: Problem) -> bool:
        """Whether `problem`, a question of its level's eval pool, is kept out of training."""
        return self.family_of(problem) not in self._open_families(problem.level)

    def eval_pool(self, level: int) -> list[Problem]:
        """The fixed eval pool of `level`: distinct questions drawn from the eval seed.

        At most EVAL_POOL_SIZE. Per family: every question of a family with fewer than
        WHOLE_SPACE_BELOW of them (trained on too: BIN level 1's 16 sums, level 3's 16
        increments), at most a quarter of a bigger finite family (held out: BIN level 3 holds out
        64 of its 256 sums), no limit for an unlimited one (held out)."""
        if level not in self._eval_pools:
            self.config.check_level(level)
            families = self._families(level)
            open_ = self._open_families(level)
            caps: dict[str, int | None] = {}
            for family, space in families.items():
                if space is None:
                    caps[family] = None
                elif family in open_:
                    caps[family] = space
                else:
                    caps[family] = max(1, space // TINY_SPACE_EVAL_SHARE)
            finite = [c for c in caps.values() if c is not None]
            cap = EVAL_POOL_SIZE if len(finite) < len(caps) else min(EVAL_POOL_SIZE, sum(finite))
            rng = random.Random(eval_seed(self.skill_id, level))
            pool: list[Problem] = []
            seen: set[str] = set()
            per_family: dict[str, int] = {}
            for _ in range(cap * MAX_DRAWS_PER_PROBLEM):
                if len(pool) >= cap:
                    break
                p = self.make_one(level, rng)
                family = self.family_of(p)
                limit = caps.get(family)
                if p.qid in seen or (limit is not None and per_family.get(family, 0) >= limit):
                    continue
                seen.add(p.qid)
                per_family[family] = per_family.get(family, 0) + 1
                pool.append(p)
            self._eval_pools[level] = pool
        return list(self._eval_pools[level])

    def heldout_eval_set(self, level: int, n: int) -> list[Problem]:
        """The first `n` problems of the eval pool (fewer when the level's space is tiny)."""
        if not 1 <= n <= EVAL_POOL_SIZE:
            raise ValueError(f"an eval set holds 1..{EVAL_POOL_SIZE} problems, not {n}")
        return self.eval_pool(level)[:n]

    def prompt_neighbours(self, level: int) -> tuple[int, ...]:
        """Levels whose problems could have the same prompt text as a problem of `level` (the
        level itself included). Every level by default; a skill whose prompts show a level's
        dials (SY: the number of clues and of spare tiles) narrows it, since each neighbour's eval
        pool must be built before `level` can train."""
        return tuple(range(1, self.max_level + 1))

    def reserved_prompts(self, level: int) -> frozenset[str]:
        """Prompts training at `level` must never show: every held-out eval prompt of every level
        that could produce it (`prompt_neighbours`). Review mixing trains mastered levels and
        forged quests draw from `training_batch` too, so no training stream of any level meets an
        eval prompt of another. Whole-family (open) questions are not reserved: their prompts
        already train at their own level, and a prompt has one answer at every level."""
        if level not in self._reserved_prompts:
            self._reserved_prompts[level] = frozenset(
                p.prompt for other in self.prompt_neighbours(level) for p in self.eval_pool(other) if self.held_out(p)
            )
        return self._reserved_prompts[level]

    def training_batch(self, level: int, n: int, index: int) -> list[Problem]:
        """Batch number `index` of training problems at `level`: deterministic, never a held-out
        question (qid) of the level's eval pool (see `held_out`) and never the prompt of a
        held-out eval question of any level (see `reserved_prompts`)."""
        reserved = {p.qid for p in self.eval_pool(level) if self.held_out(p)}
        prompts = self.reserved_prompts(level)
        rng = random.Random(training_seed(self.skill_id, level, index))
        out: list[Problem] = []
        for _ in range(max(n, 1) * MAX_DRAWS_PER_PROBLEM):
            if len(out) >= n:
                break
            p = self.make_one(level, rng)
            if p.qid not in reserved and p.prompt not in prompts:
                out.append(p)
        if len(out) < n:
            raise RuntimeError(f"{self.skill_id} level {level}: could not draw {n} training problems")
        return out
