"""Sparring, the Mirror school, for both faces (`realm quest spar` and the Guild's `m`).

The hero (the active campaign's latest valid checkpoint, else the base hero: `choose_hero`)
answers fresh problems of a skill level in a spawned child (`answering.answerer_for`); each
wrong answer becomes examples that `quests.sparring.queue_sparring` puts on the board at high
priority. No textual and no torch here: the Guild calls `Sparring.round` from a worker thread
over the game's own store (this process is its writer, so a `realm quest spar` child could not
open it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from realm_tui.config.realm_config import RealmConfigs
from realm_tui.paths import RealmPaths
from realm_tui.quests.sparring import Attempt, queue_sparring, sparring_rounds
from realm_tui.services.answering import answerer_for, require_skill
from realm_tui.services.heroes import HeroChoice, choose_hero
from realm_tui.services.records import training_level_of
from realm_tui.store import QuestRecord, Store

if TYPE_CHECKING:
    from realm_tui.quests.board import Board

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


def spar_with(
    realm: RealmPaths, configs: RealmConfigs, choice: HeroChoice, skill: str, level: int, count: int, index: int
) -> tuple[list[Attempt], list[str]]:
    """One sparring round answered by the chosen hero in a child: (attempts, the examples' JSONL lines)."""
    from realm_tui.quests.sparring import spar
    from realm_tui.skills import get_skill

    sample = get_skill(skill).generate(level, 32, seed=level)
    budget = max(len(p.expected) for p in sample) + 8  # characters bound tokens from above
    with answerer_for(realm, configs, choice, max_new_tokens=budget) as answerer:
        return spar(skill, level, count, answerer.answer, index=index)


def queue_round(
    board: Board, choice: HeroChoice, skill: str, level: int, attempts: list[Attempt], lines: list[str], index: int
) -> QuestRecord | None:
    """The round's mistakes as a high-priority quest on the board (None when every answer was right)."""
    return queue_sparring(
        board,
        skill=skill,
        level=level,
        attempts=attempts,
        lines=lines,
        source_checkpoint=choice.checkpoint.name if choice.checkpoint else None,
        index=index,
    )


def spar_round(
    realm: RealmPaths, configs: RealmConfigs, store: Store, skill: str, *, count: int = SPAR_COUNT
) -> SparOutcome:
    """One sparring round at the skill's training level; RealmError (with the reason) if it cannot run."""
    from realm_tui.quests.board import board_for
    from realm_tui.skills import get_skill

    require_skill(configs, skill)
    choice = choose_hero(realm, configs, store, None, None)
    generator = get_skill(skill)
    level = min(training_level_of(store, skill, configs.skills[skill].max_level), generator.max_level)
    board = board_for(realm, store, choice.hero)
    index = sparring_rounds(board, skill, level)
    attempts, lines = spar_with(realm, configs, choice, skill, level, count, index)
    right = sum(1 for a in attempts if a.correct)
    record = queue_round(board, choice, skill, level, attempts, lines, index)
    return SparOutcome(choice.label, skill, level, right, len(attempts), record)


class Sparring:
    """Sparring rounds over one open store (the TUI's `Game` holds one for the Guild)."""

    def __init__(self, realm: RealmPaths, store: Store) -> None:
        self._realm = realm
        self._store = store

    def round(self, configs: RealmConfigs, skill: str, *, count: int = SPAR_COUNT) -> SparOutcome:
        return spar_round(self._realm, configs, self._store, skill, count=count)
