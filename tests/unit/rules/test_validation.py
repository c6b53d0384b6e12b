"""rules.validation: the val loss weighs each source's held-out loss by the examples drawn from it."""

from __future__ import annotations

import math

import pytest

from realm_tui.rules.validation import mix_weights, mixed_val_loss


def test_sources_count_by_the_examples_drawn() -> None:
    # A tiny quest learnt by heart (0.002) in a mix that is three quarters SY (loss 3).
    expected = 0.25 * 0.002 + 0.75 * 3.0
    assert mixed_val_loss({"quest": 0.002, "sy": 3.0}, {"quest": 2, "sy": 6}) == pytest.approx(expected)


def test_unmeasured_or_undrawn_sources_leave_the_weighting() -> None:
    # A module has no held-out split; a trained quest is measured but no longer drawn.
    assert mix_weights({"quest": 0.1, "bin": 1.0}, {"bin": 4, "module:x": 4}) == {"bin": 1.0}
    assert mixed_val_loss({"quest": 0.1, "bin": 1.0}, {"bin": 4, "module:x": 4}) == pytest.approx(1.0)


def test_nothing_drawn_counts_every_measured_source_once() -> None:
    assert mixed_val_loss({"quest": 1.0, "bin": 3.0}, {}) == pytest.approx(2.0)


def test_no_measured_source_gives_no_val_loss() -> None:
    assert mixed_val_loss({}, {"bin": 3}) is None
    assert mixed_val_loss({"bin": None, "sy": math.nan}, {"bin": 3}) is None


def test_a_checkpoint_line_shows_each_source_and_its_share() -> None:
    from realm_tui.battle.val_text import val_text
    from realm_tui.contract.protocol import CheckpointSaved

    saved = CheckpointSaved(
        8, "/c", "c-8", 2.0, 2.2508, 1e-3, 1, val_losses={"quest": 0.0024, "sy": 3.0}, val_drawn={"quest": 2, "sy": 6}
    )
    assert val_text(saved) == ", val 2.2508 = quest 0.0024·25% + SY 3.0000·75%"
    assert val_text(CheckpointSaved(8, "/c", "c-8", 2.0, 0.6, 1e-3, 1)) == ", val 0.6000"
    assert val_text(CheckpointSaved(8, "/c", "c-8", 2.0, None, 1e-3, 1)) == ""
