"""The hero answers in a spawned child (`services.answerer.HeroAnswerer` starts
`trainer.entry.answer`): evaluation on a held-out set (`realm eval`) and the answerer sparring
uses. This process never imports torch: the child does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from realm_tui.config.realm_config import RealmConfigs
from realm_tui.config.skill import SkillConfig
from realm_tui.contract.protocol import EvalResult
from realm_tui.errors import InputError
from realm_tui.paths import RealmPaths
from realm_tui.services.heroes import HeroChoice
from realm_tui.services.records import training_level_of
from realm_tui.store import Store

if TYPE_CHECKING:
    from realm_tui.services.answerer import HeroAnswerer


def answerer_for(
    realm: RealmPaths, configs: RealmConfigs, choice: HeroChoice, max_new_tokens: int = 128
) -> HeroAnswerer:
    """A `HeroAnswerer` (not started) for the chosen hero/checkpoint."""
    from realm_tui.services.answerer import AnswerSetup, HeroAnswerer

    setup = AnswerSetup(
        hero=choice.hero.model_dump(mode="json"),
        realm_root=str(realm.root),
        checkpoint=str(choice.checkpoint) if choice.checkpoint else None,
        memory_profile=configs.profile_for(choice.hero).model_dump(mode="json"),
    )
    return HeroAnswerer(setup, max_new_tokens=max_new_tokens)


@dataclass(frozen=True)
class Evaluation:
    result: EvalResult
    seconds: float
    """Wall time of the whole evaluation, the child's start included."""


def evaluate(
    realm: RealmPaths, configs: RealmConfigs, choice: HeroChoice, skill: str, level: int, samples: int
) -> Evaluation:
    """The chosen hero answers up to `samples` held-out problems of the skill level."""
    started = time.perf_counter()
    with answerer_for(realm, configs, choice) as answerer:
        result = answerer.evaluate(skill, level, samples)
    return Evaluation(result, time.perf_counter() - started)


def require_skill(configs: RealmConfigs, skill: str) -> SkillConfig:
    """The skill's config; InputError naming the known skills when there is no such skill."""
    if skill not in configs.skills:
        raise InputError(None, f"unknown skill {skill!r} (known: {', '.join(configs.skills)})")
    config: SkillConfig = configs.skills[skill]
    return config


def level_to_answer(store: Store, skill: str, level: int | None, max_level: int) -> int:
    """`level`, else the skill's training level in the current campaign; InputError past `max_level`."""
    chosen = level or training_level_of(store, skill, max_level)
    if chosen > max_level:
        raise InputError(None, f"{skill} has levels 1..{max_level}, not {chosen}")
    return chosen
