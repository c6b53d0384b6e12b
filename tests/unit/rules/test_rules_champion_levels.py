"""The champion ranks by mastered levels first: accuracies at different training levels are not comparable."""

from __future__ import annotations

from dataclasses import dataclass

from realm_tui.rules.champion import ChampionCandidate, beats, champion_key, choose_champion


def test_more_mastered_levels_beat_a_higher_accuracy_at_an_easier_level() -> None:
    # audit repro: 97 % on BIN L1 (1 level mastered) vs 85 % on L3 after mastering two more levels
    early = ChampionCandidate("c300", 300, "blessed", 0.97, 0.9, mastered=1)
    later = ChampionCandidate("c2400", 2400, "blessed", 0.85, 0.5, mastered=3)
    assert choose_champion([early, later]) is later
    assert choose_champion([later, early]) is later
    assert beats(later, early) and not beats(early, later)


def test_same_mastered_total_falls_back_to_accuracy_then_val_loss_then_step() -> None:
    a = ChampionCandidate("a", 100, "blessed", 0.9, 0.9, mastered=2)
    b = ChampionCandidate("b", 200, "blessed", 0.8, 0.1, mastered=2)
    assert choose_champion([a, b]) is a
    c = ChampionCandidate("c", 300, "blessed", 0.9, 0.5, mastered=2)
    assert choose_champion([a, b, c]) is c
    d = ChampionCandidate("d", 400, "blessed", 0.9, 0.5, mastered=2)
    assert choose_champion([c, d]) is d


def test_unblessed_candidates_with_more_levels_never_win() -> None:
    blessed = ChampionCandidate("a", 100, "blessed", 0.5, 1.0, mastered=1)
    partial = ChampionCandidate("b", 200, "partial", 0.9, 0.1, mastered=5)
    assert choose_champion([blessed, partial]) is blessed


def test_a_candidate_without_a_mastered_field_counts_zero_levels() -> None:
    @dataclass
    class LedgerLike:
        name: str
        step: int
        blessing: str | None
        accuracy: float | None
        val_loss: float | None

    bare = LedgerLike("bare", 10, "blessed", 1.0, 0.1)
    assert champion_key(bare)[0] == 0
    one = ChampionCandidate("one", 5, "blessed", 0.1, 9.0, mastered=1)
    assert choose_champion([bare, one]) is one
