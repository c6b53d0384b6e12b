"""Sparring from the game (the Guild's `m`): the Mirror school exactly as `realm quest spar` runs it.

The hero (the active campaign's latest valid checkpoint, else the base hero: `choose_hero`)
answers fresh problems of the skill's training level in a spawned child
(`services.answerer.HeroAnswerer`, the CLI's `answerer_for`); each wrong answer becomes examples
that `quests.sparring.queue_sparring` puts on the board at high priority. No textual and no
torch here: the Guild calls `spar_round` from a worker thread over the game's own store (this
process is its writer, so a `realm quest spar` child could not open it).
"""

from __future__ import annotations

from dataclasses import dataclass

from realm_tui.config.realm_config import RealmConfigs
from realm_tui.errors import InputError
from realm_tui.paths import RealmPaths
from realm_tui.store import QuestRecord, Store

SPAR_COUNT = 100
"""Problems per round from the game (the CLI's `--count` default)."""


@dataclass(frozen=True)
class SparOutcome:
    hero: str
    """Who answered: a checkpoint name or `<hero> (base)`."""
    skill: str
    level: int
    right: int
    total: int
    quest: QuestRecord | None
    """The queued sparring quest; None when every answer was right."""

    @property
    def mistakes(self) -> int:
        return self.total - self.right

    def summary(self) -> str:
        head = f"{self.hero}: {self.right}/{self.total} right on {self.skill.upper()} level {self.level}"
        if self.quest is None:
            return f"{head}; no mistake, nothing to queue"
        if self.quest.state != "queued":
            return f"{head}; the sparring quest {self.quest.id} is {self.quest.state}"
        return f"{head}; {self.mistakes} mistakes → quest {self.quest.id} queued {self.quest.priority}"


def spar_round(
    realm: RealmPaths, configs: RealmConfigs, store: Store, skill: str, *, count: int = SPAR_COUNT
) -> SparOutcome:
    """One sparring round at the skill's training level; RealmError (with the reason) if it cannot run."""
    from realm_tui.cli.skills import choose_hero, spar_with, training_level_of
    from realm_tui.quests.board import board_for
    from realm_tui.quests.sparring import queue_sparring, sparring_rounds
    from realm_tui.skills import get_skill

    if skill not in configs.skills:
        raise InputError(None, f"unknown skill {skill!r} (known: {', '.join(configs.skills)})")
    choice = choose_hero(realm, configs, store, None, None)
    generator = get_skill(skill)
    level = min(training_level_of(store, skill, configs.skills[skill].max_level), generator.max_level)
    board = board_for(realm, store, choice.hero)
    index = sparring_rounds(board, skill, level)
    attempts, lines = spar_with(realm, configs, choice, skill, level, count, index)
    right = sum(1 for a in attempts if a.correct)
    record = queue_sparring(
        board,
        skill=skill,
        level=level,
        attempts=attempts,
        lines=lines,
        source_checkpoint=choice.checkpoint.name if choice.checkpoint else None,
        index=index,
    )
    return SparOutcome(choice.label, skill, level, right, len(attempts), record)
