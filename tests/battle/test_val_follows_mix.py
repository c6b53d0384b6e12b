"""DEF follows the material being trained (issue 16): a checkpoint's val loss is the held-out
loss of every source the battle trains (the quest's validation split, each skill at its training
level), weighed by the examples the steps drew from each since the previous checkpoint, not the
quest's split alone (a tiny quest learnt by heart read 0.0024 while SY trained at loss 3)."""

from __future__ import annotations

from pathlib import Path

import pytest
from battle_kit import make_tiny_realm, run_json

from realm_tui.rules.validation import mixed_val_loss
from realm_tui.store import Store


def test_each_checkpoint_weighs_the_held_out_loss_of_every_trained_source(tmp_path: Path) -> None:
    realm = make_tiny_realm(tmp_path / "realm", save_steps=4)
    code, events = run_json(realm, "--steps", "8", timeout=300)
    assert code == 0, [e for e in events if e["event"] in ("Error", "Stopped")]

    # The game's event stream may coalesce Steps; the sources they name and the steps between
    # saves are what a reader can check the weights against.
    sources: set[str] = set()
    saves = []
    for event in events:
        if event["event"] == "Step":
            sources |= set(event["mix"])
        elif event["event"] == "CheckpointSaved":
            saves.append((event, sources))
            sources = set()
    assert len(saves) == 2, [e["event"] for e in events]
    previous = 0
    for save, seen in saves:
        losses, weights = save["val_losses"], save["val_drawn"]
        assert set(losses) >= {"quest", "bin"}, losses  # the quest's split and BIN's held-out problems
        assert set(weights) == seen == {"quest", "bin"}, (weights, seen)  # the Steps' own mix
        assert sum(weights.values()) == 8 * (save["step"] - previous), weights  # batch 8, every step
        previous = save["step"]
        assert save["val_loss"] == pytest.approx(mixed_val_loss(losses, weights))
        assert min(losses.values()) < save["val_loss"] < max(losses.values())  # neither source alone

    with Store.open(realm.store_file, readonly=True) as store:
        ledger = {c.name: c.val_loss for c in store.ledger.all()}
    for save, _ in saves:  # the Vault's val column and DEF read the same figure
        assert ledger[save["name"]] == pytest.approx(save["val_loss"])
