"""The keeper applies curriculum.yaml's `stop_when: {rule: plateau}` (the game's way to set it):
training-level evals only, a level-up starts afresh, the verdict is a milestone and fires once."""

from __future__ import annotations

from progression_kit import keeper_for

from realm_tui.battle.progression import Outcome, ProgressionKeeper
from realm_tui.config.curriculum import StopWhenConfig
from realm_tui.contract.protocol import EvalResult
from realm_tui.rules.notifications import NotificationKind
from realm_tui.store import Store


def evaluate(keeper: ProgressionKeeper, step: int, level: int, accuracy: float) -> Outcome:
    return keeper.on_eval(EvalResult(step, "bin", level, accuracy, 20), effort=float(step))


def test_plateau_from_the_curriculum_config(store: Store) -> None:
    keeper = keeper_for(store, stop_when={"rule": "plateau", "plateau_evals": 2})
    assert evaluate(keeper, 10, 1, 0.3).plateau is None
    assert evaluate(keeper, 20, 1, 0.4).plateau is None  # improved
    assert evaluate(keeper, 30, 1, 0.4).plateau is None  # equal: 1 without improvement
    assert evaluate(keeper, 35, 5, 0.0).plateau is None  # not the training level: not counted
    outcome = evaluate(keeper, 40, 1, 0.2)
    assert outcome.plateau is not None and outcome.plateau.plateaued
    assert [n.kind for n in outcome.notifications] == [NotificationKind.PLATEAU]
    (milestone,) = [m for m in store.campaigns.require("c1").milestones if m["kind"] == "plateau"]
    assert milestone["step"] == 40 and milestone["evals"] == 2 and "BIN L1 best 40%" in milestone["reason"]
    assert evaluate(keeper, 50, 1, 0.1).plateau is None, "fires once"


def test_a_level_up_starts_afresh_and_steps_rule_never_stops(store: Store) -> None:
    keeper = keeper_for(store)  # the default rule: steps
    assert keeper.plateau is None
    for step in range(10, 100, 10):
        assert evaluate(keeper, step, 1, 0.1).plateau is None
    keeper = keeper_for(store, stop_when={"rule": "plateau", "plateau_evals": 2})
    assert [evaluate(keeper, s, 1, 0.9).plateau for s in (110, 120, 130)] == [None, None, None]
    assert store.campaigns.require("c1").skill_levels == {"bin": 1}  # levelled up at 130: afresh at L2
    assert evaluate(keeper, 140, 2, 0.5).plateau is None
    assert evaluate(keeper, 150, 2, 0.5).plateau is None
    assert evaluate(keeper, 160, 2, 0.5).plateau is not None


def test_the_cli_rule_overrides_the_config(store: Store) -> None:
    keeper = keeper_for(store)
    override = ProgressionKeeper(
        store, "c1", keeper.skills, keeper.curriculum, StopWhenConfig(rule="plateau", plateau_evals=3)
    )
    assert override.plateau is not None and override.plateau.patience == 3
