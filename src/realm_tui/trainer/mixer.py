"""Builds each optimizer step's examples from the quest file and generated skill data.

`realm_tui.skills.curriculum.plan_mix` decides the sources; this module makes them: quest
examples come from the deterministic `DataStream`, skill examples from `training_batch` (seeded
by the battle seed and the mixer's draw counter, which equals the step unless updates were
skipped), tokenized with the hero's chat format. The curriculum and the draw counter are saved
with every checkpoint, so a resumed battle draws exactly the same examples.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from realm_tui.errors import RealmError
from realm_tui.skills.base import Problem, SkillBase
from realm_tui.skills.curriculum import Source, plan_mix, skill_slots, summarize
from realm_tui.skills.registry import realm_skill
from realm_tui.trainer.data import ChatFormat, DataPosition, DataStream, Example, QuestData, tokenize_chat

SKILL_VAL_EXAMPLES = 64
"""Held-out problems per skill in the validation loss of a battle without a quest."""


def batch_index(seed: int, draw: int) -> int:
    """`training_batch` index of one step's draw: distinct per (seed, draw), stable everywhere."""
    return (seed % 1_000_003) * 10_000_000 + draw


@dataclass
class Mixer:
    """One battle's example source. `quest` is None for a skills-only battle."""

    quest: QuestData | None
    tokenizer: Any
    chat: ChatFormat
    max_length: int
    seed: int
    configs_dir: Path | None
    curriculum: dict[str, Any] = field(default_factory=dict)
    draw: int = 0
    """Mixes drawn so far (saved with checkpoints)."""
    log: Callable[[str], None] = lambda message: None
    stream: DataStream = field(init=False)
    _unfit: set[tuple[str, int]] = field(default_factory=set, init=False)

    def __post_init__(self) -> None:
        self.stream = DataStream(len(self.quest.train) if self.quest else 0, self.seed)
        if self.quest is None and not skill_slots(self.curriculum):
            raise RealmError("a battle without a quest file needs skills in its curriculum")

    # ------------------------------------------------------------ state

    def state_dict(self) -> dict[str, Any]:
        return {"draw": self.draw}

    def load_state_dict(self, state: dict[str, Any] | None, position: DataPosition) -> None:
        """Restore the draw counter (older checkpoints: none, so the step is used) and the quest position."""
        if state is not None and "draw" in state:
            self.draw = int(state["draw"])
        self.stream.position = position

    def set_curriculum(self, curriculum: dict[str, Any]) -> None:
        if self.quest is None and not skill_slots(curriculum):
            self.log("ignored a curriculum without skills: this battle has no quest data to fall back on")
            return
        self.curriculum = dict(curriculum)

    # ------------------------------------------------------------ skills

    def skill(self, skill_id: str) -> SkillBase:
        try:
            return realm_skill(skill_id, self.configs_dir)
        except KeyError as err:
            raise RealmError(str(err)) from err

    def _tokenize(self, problems: list[Problem], skill_id: str, level: int) -> list[Example]:
        examples = [tokenize_chat(p.messages(), self.tokenizer, self.max_length, self.chat) for p in problems]
        kept = [e for e in examples if e.n_labels > 0]
        if len(kept) < len(examples) and (skill_id, level) not in self._unfit:
            self._unfit.add((skill_id, level))
            self.log(
                f"{skill_id} level {level}: {len(examples) - len(kept)} of {len(examples)} examples have no answer "
                f"token within max_length {self.max_length} and are skipped (raise training_defaults.max_length)"
            )
        return kept

    # ------------------------------------------------------------ drawing

    def plan(self, n: int) -> list[Source]:
        rng = random.Random(f"realm-mix:{self.seed}:{self.draw}")
        return plan_mix(self.curriculum, n, rng, has_quest=self.quest is not None, step=self.draw)

    def next_examples(self, n: int) -> list[Example]:
        """The `n` examples of the next step (fewer only when generated ones do not fit max_length)."""
        sources = self.plan(n)
        examples: list[Example] = []
        n_quest = sum(1 for s in sources if s.is_quest)
        if n_quest:
            assert self.quest is not None
            examples += [self.quest.train[i] for i in self.stream.take(n_quest)]
        index = batch_index(self.seed, self.draw)
        for (skill_id, level), count in summarize(sources).items():
            problems = self.skill(skill_id).training_batch(level, count, index)
            examples += self._tokenize(problems, skill_id, level)
        self.draw += 1
        if not examples:
            raise RealmError(
                f"no trainable example in this step: generated problems do not fit max_length {self.max_length}; "
                "raise training_defaults.max_length or disable those skills in configs/curriculum.yaml"
            )
        return examples

    def val_examples(self, limit: int) -> list[Example]:
        """Held-out generated problems of each curriculum skill at its training level (no quest)."""
        slots = skill_slots(self.curriculum)
        out: list[Example] = []
        per_skill = max(1, min(SKILL_VAL_EXAMPLES, limit // max(1, len(slots))))
        for slot in slots:
            for problem in self.skill(slot.id).heldout_eval_set(slot.level, per_skill):
                example = tokenize_chat(problem.messages(), self.tokenizer, self.max_length, self.chat)
                if example.n_labels > 0:
                    out.append(example)
        return out
