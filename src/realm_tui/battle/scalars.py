"""What a battle's events put on a metrics board: the same tags for every sink (TensorBoard, W&B).

`EventScalars.of(event)` turns one contract event into scalars (training loss, lr, grad norm,
tokens/s, the school's metrics, strain, validation loss, accuracy per skill and level) and texts
(the sample answers of each eval as a markdown table, wrong ones first). Steps are the battle's
absolute steps, so a campaign's battles continue the same curves. Pure: no writer, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from realm_tui.contract.protocol import CheckpointSaved, EvalResult, Event, Step
from realm_tui.rules.answers import pick_results

SAMPLES_SHOWN = 8
"""Sample answers per eval in the text panel."""
CELL = 120
"""Longest prompt/answer cell of the sample table (characters)."""


@dataclass(frozen=True)
class Scalar:
    tag: str
    value: float
    step: int
    at: float


@dataclass(frozen=True)
class Text:
    tag: str
    markdown: str
    step: int
    at: float


Record = Scalar | Text


def _cell(value: object) -> str:
    text = " ".join(str(value).split()).replace("|", "\\|")
    return text if len(text) <= CELL else text[: CELL - 1] + "…"


def samples_markdown(event: EvalResult, shown: int = SAMPLES_SHOWN) -> str:
    """A few of the eval's answers beside the expected ones, marked right/wrong; wrong ones first."""
    results = pick_results(event.results, shown)  # the rule every face shows its samples by
    lines = [
        f"**{event.skill.upper()} L{event.level}** at step {event.step}: {event.accuracy:.0%} of {event.total}",
        "",
        "| | prompt | expected | got |",
        "|---|---|---|---|",
    ]
    for r in results:
        cells = [_cell(r.get(key, "")) for key in ("prompt", "expected", "got")]
        lines.append(f"| {'✓' if r.get('correct') else '✗'} | {' | '.join(cells)} |")
    return "\n".join(lines)


class EventScalars:
    """The records of each event of one battle. `strain`: the conductor's latest strain, read
    after each Step (None: not logged). `loss/val` is the checkpoints' validation loss (DEF's, over
    what the battle trains, `rules.validation`), logged once per step; an eval's loss on its own
    problems is `loss/eval/<skill>/L<level>`."""

    def __init__(self, strain: Callable[[], float | None] | None = None) -> None:
        self._strain = strain
        self._val_steps: set[int] = set()

    def of(self, event: Event) -> list[Record]:
        out: list[Record] = []
        if isinstance(event, Step):
            self._step(event, out)
        elif isinstance(event, EvalResult):
            self._add(out, f"accuracy/{event.skill}/L{event.level}", event.accuracy, event.step, event.at)
            if event.val_loss is not None:  # the loss of its own problems' answers: not the battle's val
                self._add(out, f"loss/eval/{event.skill}/L{event.level}", event.val_loss, event.step, event.at)
            if event.results:
                out.append(Text(f"answers/{event.skill}/L{event.level}", samples_markdown(event), event.step, event.at))
        elif isinstance(event, CheckpointSaved) and event.val_loss is not None:
            self._val(out, event.step, event.val_loss, event.at)
        return out

    def _step(self, event: Step, out: list[Record]) -> None:
        at, step = event.at, event.step
        self._add(out, "loss/train", event.loss, step, at)
        self._add(out, "train/lr", event.lr, step, at)
        self._add(out, "train/grad_norm", event.grad_norm, step, at)
        self._add(out, "train/tokens_per_s", event.tokens_per_s, step, at)
        self._add(out, "train/epoch", event.epoch, step, at)
        if event.quest_progress is not None:
            self._add(out, "train/quest_progress", event.quest_progress, step, at)
        for name, value in event.metrics.items():
            self._add(out, f"school/{name}", value, step, at)
        strain = self._strain() if self._strain is not None else None
        if strain is not None:
            self._add(out, "train/strain", strain, step, at)

    def _val(self, out: list[Record], step: int, value: float, at: float) -> None:
        if step not in self._val_steps:
            self._val_steps.add(step)
            self._add(out, "loss/val", value, step, at)

    @staticmethod
    def _add(out: list[Record], tag: str, value: float, step: int, at: float) -> None:
        if isinstance(value, int | float) and math.isfinite(value):  # NaN steps are the trainer's to report
            out.append(Scalar(tag, float(value), step, at))
