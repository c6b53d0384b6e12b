"""`Step.metrics` (the school's own numbers) as one short line, for the Battle screen and headless.

Pure: no textual, no torch. Known names get short labels in a fixed order (DPO, distillation,
the oracle enhancer, the Arena); any other name follows, sorted. Shares are shown as percentages.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

LABELS: dict[str, str] = {
    "dpo_margin": "margin",
    "dpo_accuracy": "pref-acc",
    "chosen_reward": "chosen",
    "rejected_reward": "rejected",
    "reward": "reward",
    "solved": "solved",
    "accuracy": "right",
    "kl": "KL",
    "ce": "CE",
    "objective": "objective",
    "oracle_weight": "oracle-w",
    "answer_len": "answer-len",
    "signal": "signal",
    "problems_per_s": "judged/s",
}
"""Display labels, in display order."""
PERCENT = frozenset({"dpo_accuracy", "solved", "accuracy", "signal"})


def _value(name: str, value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    if name in PERCENT:
        return f"{value:.0%}"
    return f"{value:.3f}" if abs(value) < 1000 else f"{value:.3g}"


def ordered(metrics: Mapping[str, float]) -> list[tuple[str, float]]:
    known = [(k, metrics[k]) for k in LABELS if k in metrics]
    return known + sorted((k, v) for k, v in metrics.items() if k not in LABELS)


def format_metrics(metrics: Mapping[str, float], sep: str = " · ") -> str:
    """`margin 0.412 · pref-acc 75% · KL 0.031`; empty when there are none."""
    return sep.join(f"{LABELS.get(k, k)} {_value(k, float(v))}" for k, v in ordered(metrics))
