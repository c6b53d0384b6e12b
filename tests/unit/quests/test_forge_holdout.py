"""Forged quests never hold a held-out eval prompt of any level (not only of their own)."""

from __future__ import annotations

import json

from realm_tui.paths import RealmPaths
from realm_tui.quests.board import Board
from realm_tui.quests.forge import forge_quest
from realm_tui.skills import get_skill


def test_forged_quests_hold_no_eval_prompt_of_any_level(realm: RealmPaths, board: Board) -> None:
    skill = get_skill("bin")
    held = {p.prompt for lv in range(1, skill.max_level + 1) for p in skill.eval_pool(lv) if skill.held_out(p)}
    for level in (6, 7, 8, 9, 10):
        record = forge_quest(board, skill="bin", level=level, count=1500)
        lines = (realm.root / record.path).read_text(encoding="utf-8").splitlines()
        prompts = {json.loads(line)["messages"][0]["content"] for line in lines}
        assert len(prompts) > 1000
        assert not prompts & held, f"level {level} forged an eval prompt"
