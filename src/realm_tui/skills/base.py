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

    def eval_pool(self, level: int) -> list[Problem]:
        """The fixed held-out pool of `level`: distinct questions drawn from the eval seed.

        At most EVAL_POOL_SIZE, and at most a quarter of the question space when the level is
        tiny (BIN level 1 has 16 sums: 4 are held out, 12 stay trainable)."""
        if level not in self._eval_pools:
            self.config.check_level(level)
            space = self.question_space(level)
            cap = EVAL_POOL_SIZE if space is None else max(1, min(EVAL_POOL_SIZE, space // TINY_SPACE_EVAL_SHARE))
            rng = random.Random(eval_seed(self.skill_id, level))
            pool: list[Problem] = []
            seen: set[str] = set()
            for _ in range(cap * MAX_DRAWS_PER_PROBLEM):
                if len(pool) >= cap:
                    break
                p = self.make_one(level, rng)
                if p.qid not in seen:
                    seen.add(p.qid)
                    pool.append(p)
            self._eval_pools[level] = pool
        return list(self._eval_pools[level])

    def heldout_eval_set(self, level: int, n: int) -> list[Problem]:
        """The first `n` problems of the eval pool (fewer when the level's space is tiny)."""
        if not 1 <= n <= EVAL_POOL_SIZE:
            raise ValueError(f"an eval set holds 1..{EVAL_POOL_SIZE} problems, not {n}")
        return self.eval_pool(level)[:n]

    def training_batch(self, level: int, n: int, index: int) -> list[Problem]:
        """Batch number `index` of training problems at `level`: deterministic, and never a
        question (qid) of the level's eval pool."""
        reserved = {p.qid for p in self.eval_pool(level)}
        rng = random.Random(training_seed(self.skill_id, level, index))
        out: list[Problem] = []
        for _ in range(max(n, 1) * MAX_DRAWS_PER_PROBLEM):
            if len(out) >= n:
                break
            p = self.make_one(level, rng)
            if p.qid not in reserved:
                out.append(p)
        if len(out) < n:
            raise RuntimeError(f"{self.skill_id} level {level}: could not draw {n} training problems")
        return out
