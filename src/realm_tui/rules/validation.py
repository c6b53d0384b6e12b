"""The battle's validation loss (DEF = 100 / it): held-out loss of what the battle is training.

A battle trains a mix of sources (the quest, each skill at its training level, modules). Each
checkpoint measures a held-out loss per source (the quest's validation split, each skill's
held-out eval problems) and this rule weighs them like the mix: by the examples drawn from each
source since the previous checkpoint (the `Step` events' `mix`). So a tiny quest the hero has
learned by heart no longer stands for a battle that is mostly training a hard skill (issue 16).

Sources drawn from but not measured (modules: they have no held-out split) and sources measured
but not drawn from (a trained quest, a skill with weight 0) leave the weighting. When nothing
measured was drawn (a checkpoint right after a resume), every measured source counts once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping


def mix_weights(losses: Mapping[str, float | None], drawn: Mapping[str, int]) -> dict[str, float]:
    """Share of each measured source in the validation loss: its draws, or equal shares when
    none of the measured sources was drawn. Sources with no finite loss get no share."""
    measured = [s for s, loss in losses.items() if loss is not None and math.isfinite(loss)]
    counts = {s: max(0, int(drawn.get(s, 0))) for s in measured}
    if not any(counts.values()):
        counts = dict.fromkeys(measured, 1)
    total = sum(counts.values())
    return {s: n / total for s, n in counts.items() if n > 0} if total else {}


def mixed_val_loss(losses: Mapping[str, float | None], drawn: Mapping[str, int]) -> float | None:
    """Σ share(s) · loss(s) over the measured sources (`mix_weights`); None when none was measured."""
    weights = mix_weights(losses, drawn)
    if not weights:
        return None
    return sum(share * float(losses[s] or 0.0) for s, share in weights.items())
