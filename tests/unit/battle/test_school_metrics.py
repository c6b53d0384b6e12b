"""School metrics as one line (Battle screen and headless), and the battle-refused notification."""

from __future__ import annotations

import io
import json

from rich.console import Console

from realm_tui.battle.render import JsonRenderer, RichRenderer
from realm_tui.battle.school_metrics import format_metrics
from realm_tui.contract.protocol import Step
from realm_tui.rules.notifications import NotificationKind, Severity, battle_refused, trainer_died


def test_known_metrics_come_first_with_short_labels() -> None:
    metrics = {"zeta": 2.0, "rejected_reward": -0.2, "dpo_accuracy": 0.75, "dpo_margin": 0.41234}
    assert format_metrics(metrics) == "margin 0.412 · pref-acc 75% · rejected -0.200 · zeta 2.000"
    assert format_metrics({"kl": 0.031, "ce": 1.5, "objective": float("nan")}) == "KL 0.031 · CE 1.500 · objective nan"
    assert format_metrics({}) == ""


def _step(metrics: dict[str, float]) -> Step:
    return Step(3, 10, 1.25, 1e-3, 0.5, 900.0, 7.0, 768, metrics=metrics)


def test_headless_progress_shows_the_metrics() -> None:
    out = io.StringIO()
    renderer = RichRenderer(Console(file=out, width=200, force_terminal=False))
    renderer.show(_step({"kl": 0.25, "ce": 1.1}), [])
    renderer.close()
    assert "KL 0.250 · CE 1.100" in out.getvalue()
    lines = io.StringIO()
    JsonRenderer(lines).show(_step({"oracle_weight": 1.02}), [])
    assert json.loads(lines.getvalue())["metrics"] == {"oracle_weight": 1.02}


def test_a_refused_battle_is_not_a_dead_trainer() -> None:
    note = battle_refused("  no quest to fight\n")
    assert (note.kind, note.severity) == (NotificationKind.BATTLE_REFUSED, Severity.WARNING)
    assert note.body == "no quest to fight"
    assert note.title != trainer_died("boom").title


def test_the_arena_line_and_its_json() -> None:
    metrics = {"problems_per_s": 41.5, "answer_len": 3.1, "kl": 0.002, "solved": 0.625, "reward": 0.4123, "signal": 1.0}
    line = format_metrics(metrics)
    assert line == "reward 0.412 · solved 62% · KL 0.002 · answer-len 3.100 · signal 100% · judged/s 41.500"
    lines = io.StringIO()
    JsonRenderer(lines).show(_step(metrics), [])
    assert json.loads(lines.getvalue())["metrics"] == metrics
