"""The champion: best blessed checkpoint by accuracy, then val loss, then step."""

from __future__ import annotations

import math
from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from realm_tui.rules.champion import ChampionCandidate, beats, choose_champion, is_blessed
from realm_tui.rules.temple import Verdict


def cand(
    name: str,
    step: int = 0,
    verdict: str | None = "blessed",
    acc: float | None = 0.5,
    val: float | None = 1.0,
) -> ChampionCandidate:
    return ChampionCandidate(name, step, verdict, acc, val)


def test_none_when_nobody_is_blessed() -> None:
    assert choose_champion([]) is None
    assert choose_champion([cand("a", verdict="partial"), cand("b", verdict="cursed"), cand("c", verdict=None)]) is None


def test_best_accuracy_wins_even_against_unblessed_better_ones() -> None:
    pool = [cand("a", acc=0.7), cand("b", acc=0.9), cand("c", acc=0.99, verdict="partial")]
    assert choose_champion(pool) == pool[1]


def test_ties_go_to_lower_val_loss_then_later_step() -> None:
    assert choose_champion([cand("a", acc=0.8, val=0.9), cand("b", acc=0.8, val=0.7)]).name == "b"  # type: ignore[union-attr]
    pool = [cand("a", step=10, acc=0.8, val=0.7), cand("b", step=20, acc=0.8, val=0.7)]
    assert choose_champion(pool).name == "b"  # type: ignore[union-attr]


def test_missing_or_nan_metrics_rank_last() -> None:
    pool = [cand("a", acc=None), cand("b", acc=math.nan), cand("c", acc=0.1)]
    assert choose_champion(pool).name == "c"  # type: ignore[union-attr]
    pool = [cand("a", acc=0.5, val=None), cand("b", acc=0.5, val=math.nan), cand("c", acc=0.5, val=3.0)]
    assert choose_champion(pool).name == "c"  # type: ignore[union-attr]


def test_accepts_verdict_enum_and_any_object_with_the_fields() -> None:
    @dataclass
    class LedgerRecord:
        name: str
        step: int
        blessing: str | None
        accuracy: float | None
        val_loss: float | None
        path: str = ""

    rec = LedgerRecord("checkpoint-100", 100, Verdict.BLESSED, 0.5, 1.0)
    assert is_blessed(rec)
    assert choose_champion([rec]) is rec


def test_beats() -> None:
    champ = cand("a", acc=0.8)
    assert beats(cand("b", acc=0.9), champ)
    assert not beats(cand("b", acc=0.7), champ)
    assert not beats(cand("b", acc=1.0, verdict="partial"), champ)
    assert beats(cand("b", acc=0.1), None)
    assert beats(cand("b", acc=0.1), cand("a", acc=1.0, verdict="cursed"))


verdicts = st.sampled_from(["blessed", "partial", "cursed", None])
metric = st.one_of(st.none(), st.floats(allow_nan=True))
candidates = st.lists(
    st.builds(ChampionCandidate, st.text(max_size=4), st.integers(0, 10**6), verdicts, metric, metric),
    max_size=12,
)


@given(candidates)
def test_champion_is_always_blessed_and_unbeaten(pool: list[ChampionCandidate]) -> None:
    champ = choose_champion(pool)
    if champ is None:
        assert not any(c.blessing == "blessed" for c in pool)
        return
    assert champ.blessing == "blessed"
    assert champ in pool
    assert not any(beats(c, champ) for c in pool)
