"""The hero's answers and accuracy curves as the stored evals keep them, for both faces.

Every eval the battle applies is stored with each of its answers (`EvalRecord.results`, written by
`battle.progression`): the store keeps them all, and these reads pick the few worth showing with
`rules.answers` (wrong first) — the Guild's last answers per level, the Battle screen's answers
and accuracy curves between battles. Plain values in, plain values out.
"""

from __future__ import annotations

from collections.abc import Sequence

from realm_tui.rules.answers import KEPT_PER_LEVEL, SHOWN_PER_EVAL, EvalAnswers, eval_answers
from realm_tui.store import EvalRecord

Points = tuple[tuple[float, float], ...]


def answers_of(record: EvalRecord, limit: int) -> EvalAnswers:
    return eval_answers(
        record.skill, record.level, record.step, record.accuracy, record.results, total=record.total, limit=limit
    )


def _newest(evals: Sequence[EvalRecord]) -> list[EvalRecord]:
    return sorted(evals, key=lambda e: (e.step, e.created_at))


def answers_by_level(evals: Sequence[EvalRecord], limit: int = KEPT_PER_LEVEL) -> list[EvalAnswers]:
    """The last answers of each skill level (its newest eval with answers, wrong ones first, at
    most `limit`): skills in name order, each skill's highest level first."""
    latest: dict[tuple[str, int], EvalRecord] = {}
    for record in _newest(evals):
        if record.results:
            latest[(record.skill, record.level)] = record
    ordered = sorted(latest.items(), key=lambda item: (item[0][0], -item[0][1]))
    return [answers_of(record, limit) for _key, record in ordered]


def latest_answers(evals: Sequence[EvalRecord], limit: int = SHOWN_PER_EVAL) -> list[EvalAnswers]:
    """Each skill's newest eval with answers (as the Battle screen shows them live), by skill name."""
    latest: dict[str, EvalRecord] = {}
    for record in _newest(evals):
        if record.results:
            latest[record.skill] = record
    return [answers_of(latest[skill], limit) for skill in sorted(latest)]


def accuracy_points(evals: Sequence[EvalRecord]) -> list[tuple[str, Points]]:
    """(skill, accuracy by step) at the level each skill was training: an eval below the highest
    level evaluated before it is a re-test of an older level, left out (as the live curve does)."""
    series: dict[str, list[tuple[float, float]]] = {}
    highest: dict[str, int] = {}
    for record in _newest(evals):
        if record.level < highest.get(record.skill, 0):
            continue
        highest[record.skill] = record.level
        series.setdefault(record.skill, []).append((float(record.step), record.accuracy))
    return [(skill, tuple(points)) for skill, points in sorted(series.items())]
