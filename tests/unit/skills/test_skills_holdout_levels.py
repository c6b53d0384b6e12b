"""Hold-out across levels: no training stream of any level shows an eval prompt of any level.

Training batches feed new-level training, review of mastered levels (the mixer draws them with
`training_batch` at the reviewed level), forged quests and sparring, so checking large training
batches of every level against every level's eval pool covers all of them. The only eval prompts
that training may show are those of families too small to hold out (`eval_overlaps_training`,
documented in skills/base.py): those must then carry the same answer.
"""

from __future__ import annotations

from functools import cache

import pytest

from realm_tui.skills import get_skill
from realm_tui.skills.base import SkillBase

TRAIN_PER_LEVEL = {"bin": 3000, "sy": 200}


@cache
def eval_prompts(skill: SkillBase) -> tuple[dict[str, int], dict[str, str]]:
    """(held-out eval prompt → its level, whole-family eval prompt → its answer) over all levels."""
    held: dict[str, int] = {}
    open_: dict[str, str] = {}
    for level in range(1, skill.max_level + 1):
        for p in skill.eval_pool(level):
            if skill.held_out(p):
                held.setdefault(p.prompt, level)
            else:
                open_[p.prompt] = p.expected
    return held, open_


def check_level(skill: SkillBase, level: int, held: dict[str, int], open_: dict[str, str]) -> int:
    n = TRAIN_PER_LEVEL[skill.id]
    batch = skill.training_batch(level, n, 0) + skill.training_batch(level, n // 4, 7)
    for p in batch:
        assert p.prompt not in held, f"{skill.id} L{level} trains the L{held[p.prompt]} eval prompt {p.prompt!r}"
        if p.prompt in open_:
            assert open_[p.prompt] == p.expected, p.prompt
    return len(batch)


def test_bin_eval_prompts_never_train_at_any_level() -> None:
    skill = get_skill("bin")
    held, open_ = eval_prompts(skill)
    assert len(held) > 20 * 256, "every level from 6 on holds out a full pool"
    assert sum(check_level(skill, level, held, open_) for level in range(1, skill.max_level + 1)) >= 100_000


SY = get_skill("sy")


@pytest.mark.slow  # the first case builds all 50 eval pools (~60 s of CPU), then ~1.5 s per level
@pytest.mark.timeout(1200)
@pytest.mark.parametrize("level", range(1, SY.max_level + 1))
def test_sy_eval_prompts_never_train_at_any_level(level: int) -> None:
    held, open_ = eval_prompts(SY)
    assert not open_ and len(held) == 50 * 256, "every SY eval question is held out"
    check_level(SY, level, held, open_)


def test_a_level_reserves_its_neighbours_eval_prompts() -> None:
    """The mechanism itself: an eval prompt of a neighbouring level is refused in training."""
    bin_ = get_skill("bin")
    tobin = next(p for p in bin_.eval_pool(7) if p.meta["op"] == "tobin" and bin_.held_out(p))
    assert tobin.prompt in bin_.reserved_prompts(8) and tobin.prompt in bin_.reserved_prompts(30)
    sy = get_skill("sy")
    assert set(sy.prompt_neighbours(12)) == {10, 11, 12, 13, 14}, "same number of words and of herrings"
    assert {p.prompt for p in sy.eval_pool(11)} <= sy.reserved_prompts(13)
