"""What a battle is training, in a few words for the Tavern's quest line: `add-ops + BIN + SY`.

From the sources of the latest step (`Step.mix`: `quest`, skill ids, `module:<id>`), or, before the
first step, from the battle's plan (its quest and the curriculum's skills with a weight). No
textual, no store: plain values in, a string out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from realm_tui.skills.curriculum import module_slots, skill_slots


def training_label(quest_id: str | None, sources: Iterable[str]) -> str:
    """`quest_id` (None: the quest is done or there is none) and the skills and modules drawn."""
    names: list[str] = []
    for source in sources:
        if source == "quest":
            continue
        name = f"module {source.removeprefix('module:')}" if source.startswith("module:") else source.upper()
        if name not in names:
            names.append(name)
    drawn = " + ".join(names)
    if quest_id:
        return f"{quest_id} + {drawn}" if drawn else quest_id
    return f"skills {drawn}" if drawn else "skills"


def planned_sources(has_quest: bool, curriculum: Mapping[str, Any]) -> tuple[str, ...]:
    """The sources a battle's plan trains before its first step (skills and modules with a weight)."""
    share = curriculum.get("quest_share")
    if has_quest and isinstance(share, int | float) and share >= 1.0:
        return ("quest",)  # the quest's battle alone (e.g. preference pairs)
    skills = [slot.id for slot in skill_slots(curriculum) if slot.weight > 0]
    modules = [f"module:{slot.id}" for slot in module_slots(curriculum)]
    return (*(("quest",) if has_quest else ()), *skills, *modules)
