"""Skills: generators and scorers for BIN and SY, held-out eval sets and the primitives map.

Pure Python: no torch, no textual, no I/O except reading the shipped word data (and writing the
JSONL files `to_chat_jsonl` is asked for).
"""

from realm_tui.skills.base import Problem, Skill, SkillBase, eval_seed, training_seed
from realm_tui.skills.registry import (
    SKILL_IDS,
    get_skill,
    heldout_eval_set,
    to_chat_jsonl,
    training_batch,
)

__all__ = [
    "SKILL_IDS",
    "Problem",
    "Skill",
    "SkillBase",
    "eval_seed",
    "get_skill",
    "heldout_eval_set",
    "to_chat_jsonl",
    "training_batch",
    "training_seed",
]
