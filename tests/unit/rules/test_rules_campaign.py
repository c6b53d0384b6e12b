"""Campaign state transitions, peaks, effort and level transition records."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from realm_tui.rules.campaign import (
    CampaignState,
    CampaignStatus,
    add_milestone,
    archive,
    mark_maxed_out,
    new_campaign,
    new_game_plus,
    pause,
    record_eval,
    record_level_change,
    record_step,
    resume,
)


def fresh() -> CampaignState:
    return new_campaign("c1", "dio-nano")


def test_new_campaign() -> None:
    c = fresh()
    assert (c.id, c.hero_id, c.status, c.current_step, c.steps_trained) == ("c1", "dio-nano", "active", 0, 0)
    assert c.start_checkpoint is None and c.new_game_plus_of is None
    assert [m.kind for m in c.milestones] == ["started"]
    assert "fresh hero" in c.milestones[0].text


def test_new_campaign_from_checkpoint() -> None:
    c = new_campaign("c2", "dio", start_checkpoint="checkpoint-500", start_step=500, skill_levels={"bin": 3})
    assert (c.current_step, c.steps_trained, c.skill_levels) == (500, 0, {"bin": 3})
    assert c.peaks.peak_skill_levels == {"bin": 3}
    assert "checkpoint-500" in c.milestones[0].text


@pytest.mark.parametrize(
    "kw",
    [{"campaign_id": ""}, {"hero_id": ""}, {"start_step": -1}, {"skill_levels": {"bin": -1}}],
)
def test_new_campaign_rejects_bad_input(kw: dict[str, object]) -> None:
    args: dict[str, object] = {"campaign_id": "c", "hero_id": "h"}
    args.update(kw)
    with pytest.raises(ValueError):
        new_campaign(**args)  # type: ignore[arg-type]


def test_record_step_advances_and_tracks_lowest_loss() -> None:
    c = record_step(fresh(), 1, 2.0)
    c = record_step(c, 2, 1.5)
    c = record_step(c, 3, 1.7)
    assert (c.current_step, c.steps_trained, c.last_loss) == (3, 3, 1.7)
    assert (c.peaks.lowest_loss, c.peaks.lowest_loss_step) == (1.5, 2)


def test_record_step_is_immutable() -> None:
    c = fresh()
    record_step(c, 1, 2.0)
    assert c.current_step == 0 and c.last_loss is None


def test_steps_must_advance() -> None:
    c = record_step(fresh(), 5, 1.0)
    with pytest.raises(ValueError, match="does not advance"):
        record_step(c, 5, 1.0)
    with pytest.raises(ValueError):
        record_step(c, 3, 1.0)


def test_non_finite_loss_changes_no_peak() -> None:
    c = record_step(fresh(), 1, 1.0)
    c = record_step(c, 2, math.nan)
    c = record_step(c, 3, -math.inf)
    assert (c.current_step, c.last_loss, c.peaks.lowest_loss) == (3, 1.0, 1.0)


def test_effort_per_skill() -> None:
    c = record_step(fresh(), 1, 1.0, {"bin": 0.3, "sy": 0.1})
    c = record_step(c, 2, 1.0, {"bin": 0.2, "sy": math.nan})
    c = record_step(c, 3, 1.0, {"sy": -1.0})
    assert c.effort_per_skill == pytest.approx({"bin": 0.5, "sy": 0.1})
    assert c.total_effort == pytest.approx(0.6)


def test_record_eval_tracks_highest_accuracy() -> None:
    c = record_eval(fresh(), "bin", 1, 0.6)
    c = record_eval(c, "sy", 2, 0.9)
    c = record_eval(c, "bin", 2, 0.7)
    c = record_eval(c, "bin", 2, math.nan)
    assert (c.peaks.highest_accuracy, c.peaks.highest_accuracy_at) == (0.9, ("sy", 2))
    with pytest.raises(ValueError):
        record_eval(c, "bin", 0, 0.5)
    with pytest.raises(ValueError):
        record_eval(c, "bin", 1, 1.5)


def test_level_change_records_transition_with_effort_and_gain() -> None:
    c = record_step(fresh(), 1, 2.0, {"bin": 1.0})
    c = record_step(c, 2, 1.5, {"bin": 0.5})
    c = record_level_change(c, "bin", 1)
    assert c.skill_levels == {"bin": 1}
    assert c.peaks.peak_skill_levels == {"bin": 1}
    t = c.transitions[-1]
    assert (t.skill, t.from_level, t.to_level, t.start_step, t.end_step) == ("bin", 0, 1, 0, 2)
    assert t.effort_spent == pytest.approx(1.5)
    assert t.plastic_gain == pytest.approx(0.5)
    assert t.efficiency == pytest.approx(0.5 / 1.5)
    assert c.milestones[-1].kind == "level_up"

    c = record_step(c, 3, 1.2, {"bin": 0.25})
    c = record_level_change(c, "bin", 2)
    t = c.transitions[-1]
    assert (t.from_level, t.to_level, t.start_step, t.end_step) == (1, 2, 2, 3)
    assert t.effort_spent == pytest.approx(0.25)
    assert t.plastic_gain == pytest.approx(0.3)


def test_level_change_without_any_step_has_zero_gain() -> None:
    c = record_level_change(fresh(), "sy", 1)
    t = c.transitions[0]
    assert (t.effort_spent, t.plastic_gain, t.efficiency) == (0.0, 0.0, 0.0)


def test_level_down_keeps_peak() -> None:
    c = record_level_change(record_level_change(fresh(), "sy", 3), "sy", 2)
    assert c.skill_levels["sy"] == 2
    assert c.peaks.peak_skill_levels["sy"] == 3
    assert c.milestones[-1].kind == "level_down"


def test_level_change_rejects_bad_input() -> None:
    c = new_campaign("c", "h", start_step=100)
    with pytest.raises(ValueError, match="already at level 0"):
        record_level_change(c, "bin", 0)
    with pytest.raises(ValueError):
        record_level_change(c, "bin", -1)
    with pytest.raises(ValueError, match="before the campaign began"):
        record_level_change(c, "bin", 1, step=50)


def test_pause_resume() -> None:
    c = pause(fresh())
    assert c.status is CampaignStatus.PAUSED
    with pytest.raises(ValueError, match="only an active campaign can pause"):
        pause(c)
    c = resume(c)
    assert c.status is CampaignStatus.ACTIVE
    with pytest.raises(ValueError, match="only a paused or maxed-out"):
        resume(c)


def test_maxed_out_then_archive_or_push_on() -> None:
    c = mark_maxed_out(record_step(fresh(), 10, 1.0), "every level-up costs a mastered level")
    assert c.status is CampaignStatus.MAXED_OUT
    assert c.maxed_out_reason == "every level-up costs a mastered level"
    assert c.milestones[-1].kind == "maxed_out" and c.milestones[-1].step == 10
    with pytest.raises(ValueError):
        mark_maxed_out(c, "again")
    assert resume(c).status is CampaignStatus.ACTIVE
    assert archive(c).status is CampaignStatus.ARCHIVED


def test_archived_campaign_is_final() -> None:
    c = archive(fresh())
    with pytest.raises(ValueError, match="archived: cannot archive it again"):
        archive(c)
    with pytest.raises(ValueError, match="archived: cannot train"):
        record_step(c, 1, 1.0)
    for action in (
        lambda: record_eval(c, "bin", 1, 0.5),
        lambda: record_level_change(c, "bin", 1),
        lambda: add_milestone(c, "custom", "x"),
        lambda: pause(c),
        lambda: resume(c),
        lambda: mark_maxed_out(c, "x"),
    ):
        with pytest.raises(ValueError):
            action()


def test_paused_campaign_still_records_in_flight_steps() -> None:
    c = record_step(pause(fresh()), 1, 1.0)
    assert c.current_step == 1 and c.status is CampaignStatus.PAUSED


def test_add_milestone() -> None:
    c = add_milestone(record_step(fresh(), 7, 1.0), "first_quest", "The first quest is done.")
    assert (c.milestones[-1].step, c.milestones[-1].kind) == (7, "first_quest")
    assert add_milestone(c, "x", "y", step=3).milestones[-1].step == 3


def test_new_game_plus() -> None:
    old = mark_maxed_out(record_level_change(fresh(), "bin", 4), "cap")
    ng = new_game_plus(old, "checkpoint-9000", "flo", campaign_id="c2", start_step=9000)
    assert (ng.id, ng.hero_id, ng.status, ng.new_game_plus_of) == ("c2", "flo", "active", "c1")
    assert (ng.start_checkpoint, ng.current_step, ng.skill_levels) == ("checkpoint-9000", 9000, {"bin": 4})
    assert [m.kind for m in ng.milestones] == ["started", "new_game_plus"]
    assert new_game_plus(old, "ck", "flo", "c3", skill_levels={}).skill_levels == {}
    assert new_game_plus(archive(old), "ck", "flo", "c4").new_game_plus_of == "c1"


def test_new_game_plus_rejects_illegal_moves() -> None:
    with pytest.raises(ValueError, match="still active"):
        new_game_plus(fresh(), "ck", "flo", "c2")
    paused = pause(fresh())
    with pytest.raises(ValueError, match="checkpoint"):
        new_game_plus(paused, "", "flo", "c2")
    with pytest.raises(ValueError, match="new campaign id"):
        new_game_plus(paused, "ck", "flo", "c1")


@given(st.lists(st.tuples(st.integers(1, 5), st.floats(allow_nan=True, allow_infinity=True)), max_size=30))
def test_step_fold_invariants(increments: list[tuple[int, float]]) -> None:
    c = fresh()
    step = 0
    for inc, loss in increments:
        step += inc
        c = record_step(c, step, loss, {"bin": loss - 1.0 if math.isfinite(loss) else loss})
    assert c.current_step == step
    finite = [loss for _, loss in increments if math.isfinite(loss)]
    assert c.peaks.lowest_loss == (min(finite) if finite else None)
    assert c.effort_per_skill.get("bin", 0.0) >= 0.0
