"""Events as plain JSON-ready dicts, for `--json` output and the store's event log."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

from realm_tui.contract.protocol import Event


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN/inf; keep them readable
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def event_to_dict(event: Event) -> dict[str, Any]:
    data = {"event": type(event).__name__}
    data.update(_clean(dataclasses.asdict(event)))
    return data


def event_to_json(event: Event) -> str:
    return json.dumps(event_to_dict(event), ensure_ascii=False, sort_keys=False)
