"""The strain floor is the level's comfort loss (the loss at the latest mastery), never the recent
minimum; the hint never says *level up* while a skill's accuracy is below its threshold."""

from __future__ import annotations

import math
from functools import reduce

from realm_tui.rules.strain import (
    CurriculumAction,
    StrainState,
    StrainZone,
    comfort_floor,
    gated_hint,
    hint_for,
    skills_ready,
    update_strain,
)


def fold(losses: list[float], floor: float) -> StrainState:
    return reduce(lambda s, loss: update_strain(s, loss, floor), losses, StrainState())


def test_comfort_floor_is_the_loss_at_the_latest_mastery() -> None:
    assert comfort_floor([]) == 0.0  # nothing mastered yet: measured against a perfect fit
    assert comfort_floor([0.4, None, 0.25]) == 0.25
    assert comfort_floor([0.4, math.nan, None]) == 0.4  # an unknown loss keeps the previous floor
    assert comfort_floor([0.3, -1.0]) == 0.3


def test_falling_flat_and_spiking_losses_fall_in_different_zones() -> None:
    floor = comfort_floor([0.2])
    falling = fold([1.2 - 0.05 * i for i in range(20)], floor)  # 1.20 → 0.25: learning
    flat = fold([0.95] * 20, floor)  # well above the floor, not moving
    spike = fold([0.22] * 19 + [3.0], floor)  # comfortable, then a spike
    zones = {falling.zone, flat.zone, spike.zone}
    assert falling.zone is StrainZone.RECOVERY and flat.zone is StrainZone.OVERLOAD
    assert spike.zone is StrainZone.OVERLOAD and spike.strain is not None and spike.strain > 2.5
    # the flat stretch is stuck: back off; the falling one continues; the zones differ from a calm one
    calm = fold([0.45] * 20, floor)
    assert calm.zone is StrainZone.PRODUCTIVE
    assert len(zones | {calm.zone}) == 3
    assert hint_for(flat) is CurriculumAction.BACK_OFF
    assert hint_for(falling) is not CurriculumAction.BACK_OFF
    # strain is not stuck at 0 as it was with the recent-minimum floor (a falling loss is its own minimum)
    assert falling.effort > 5.0 and max(falling.recent) > 0.5


def test_level_up_hint_needs_accuracy_at_threshold() -> None:
    easy = fold([0.21] * 30, comfort_floor([0.2]))  # recovery and stable: the loss alone says level up
    assert hint_for(easy) is CurriculumAction.LEVEL_UP
    assert not skills_ready({"bin": 0.0}, {"bin": 0.8})
    assert gated_hint(easy, ready=skills_ready({"bin": 0.0}, {"bin": 0.8})) is CurriculumAction.CONTINUE
    assert not skills_ready({"bin": 0.9, "sy": 0.1}, {"bin": 0.8, "sy": 0.8})
    assert not skills_ready({"bin": 0.9}, {"bin": 0.8, "sy": 0.8})  # no eval of SY yet
    assert not skills_ready({}, {})  # nothing to level up
    assert skills_ready({"bin": 0.85, "sy": 0.8}, {"bin": 0.8, "sy": 0.8})
    assert gated_hint(easy, ready=True) is CurriculumAction.LEVEL_UP
    flat = fold([0.95] * 20, 0.2)
    assert gated_hint(flat, ready=False) is CurriculumAction.BACK_OFF
