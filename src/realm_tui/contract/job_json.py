"""A `TrainJob` as JSON: the file a launched battle reads (`realm_tui.battle.launched` writes it,
`python -m realm_tui.trainer.entry.distributed --job FILE` reads it)."""

from __future__ import annotations

import dataclasses
import json

from realm_tui.contract.protocol import TrainJob


def job_to_json(job: TrainJob) -> str:
    return json.dumps(dataclasses.asdict(job), ensure_ascii=False, indent=1)


def job_from_json(text: str) -> TrainJob:
    data = json.loads(text)
    known = {f.name for f in dataclasses.fields(TrainJob)}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"unknown TrainJob field(s): {', '.join(sorted(unknown))}")
    data["quest_paths"] = tuple(data.get("quest_paths") or ())
    return TrainJob(**data)
