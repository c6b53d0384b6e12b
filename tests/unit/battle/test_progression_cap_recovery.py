"""The keeper's maxed-out verdict replayed on the cap bench's campaign (docs/skills.md): a level-1
dip that maintenance repaired before level 2 was mastered does not end the campaign."""

from __future__ import annotations

from progression_kit import keeper_for

from realm_tui.contract.protocol import EvalResult
from realm_tui.rules.notifications import NotificationKind
from realm_tui.store import Store


def kinds(keeper: object, step: int, level: int, accuracy: float) -> list[NotificationKind]:
    outcome = keeper.on_eval(EvalResult(step, "bin", level, accuracy, 100), effort=1.0)  # type: ignore[attr-defined]
    return [n.kind for n in outcome.notifications]


def test_a_repaired_dip_does_not_max_out_the_campaign(store: Store) -> None:
    keeper = keeper_for(store)
    for step, acc in ((90, 0.875), (100, 0.94), (117, 1.0)):
        kinds(keeper, step, 1, acc)
    assert store.campaigns.require("c1").skill_levels == {"bin": 1}
    assert kinds(keeper, 220, 1, 0.69) == [NotificationKind.REGRESSION]
    kinds(keeper, 298, 1, 1.0)  # recovered
    for step, acc in ((300, 0.79), (350, 0.81), (384, 0.94)):
        kinds(keeper, step, 2, acc)
    assert store.campaigns.require("c1").skill_levels == {"bin": 2}
    assert kinds(keeper, 518, 2, 0.60) == [NotificationKind.REGRESSION]
    assert store.campaigns.require("c1").status != "maxed_out", "one costly level-up is not a cap"
    # L3 mastered while L2 is still lost, and L3's level-up costs a level again: that is the cap
    for step, acc in ((600, 0.85), (650, 0.85), (700, 0.85)):
        kinds(keeper, step, 3, acc)
    assert kinds(keeper, 720, 1, 0.5) == [NotificationKind.REGRESSION, NotificationKind.MAXED_OUT]
    assert store.campaigns.require("c1").status == "maxed_out"
