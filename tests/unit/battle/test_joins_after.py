"""A skill with `joins_after` takes no part (no data, no evals, no say in the hint) until the
skills it waits for have mastered their levels; the keeper then sends it with the new curriculum."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from realm_tui.battle.progression import ProgressionKeeper, SkillRule
from realm_tui.config.curriculum import CurriculumConfig
from realm_tui.contract.protocol import EvalResult
from realm_tui.rules.progression import has_joined
from realm_tui.store import Store


def test_has_joined() -> None:
    assert has_joined({}, {})
    assert not has_joined({"bin": 2}, {"bin": 1})
    assert has_joined({"bin": 2}, {"bin": 2, "sy": 0})


def test_sy_joins_once_bin_masters_its_level(store: Store) -> None:
    config = CurriculumConfig.model_validate(
        {"skills": {"bin": {"weight": 1.0}, "sy": {"weight": 1.0, "joins_after": {"bin": 1}}}}
    )
    keeper = ProgressionKeeper(store, "c1", {"bin": SkillRule(max_level=30), "sy": SkillRule(max_level=50)}, config)
    assert list(keeper.curriculum_payload()["skills"]) == ["bin"]
    assert keeper.thresholds() == {"bin": 0.8}
    changed = [keeper.on_eval(EvalResult(s, "bin", 1, 1.0, 20), effort=0.0).curriculum_changed for s in (10, 20, 30)]
    assert changed == [False, False, True]
    payload = keeper.curriculum_payload()["skills"]
    assert list(payload) == ["bin", "sy"] and payload["sy"]["level"] == 1 and payload["bin"]["level"] == 2
    assert keeper.thresholds() == {"bin": 0.8, "sy": 0.8}


@pytest.mark.parametrize(
    ("skills", "message"),
    [
        ({"bin": {}, "sy": {"joins_after": {"sy": 1}}}, "is not another skill"),
        ({"bin": {}, "sy": {"joins_after": {"xx": 1}}}, "is not another skill"),
        ({"bin": {}, "sy": {"joins_after": {"bin": 0}}}, "a level is at least 1"),
        ({"bin": {"joins_after": {"sy": 1}}, "sy": {"joins_after": {"bin": 1}}}, "none would ever start"),
    ],
)
def test_joins_after_is_checked(skills: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        CurriculumConfig.model_validate({"skills": skills})


def test_a_wait_on_a_disabled_skill_is_void(store: Store) -> None:
    config = CurriculumConfig.model_validate(
        {"skills": {"bin": {"enabled": False}, "sy": {"weight": 1.0, "joins_after": {"bin": 2}}}}
    )
    keeper = ProgressionKeeper(store, "c1", {"bin": SkillRule(max_level=30), "sy": SkillRule(max_level=50)}, config)
    assert list(keeper.curriculum_payload()["skills"]) == ["sy"]
