"""The quest board's policy (`configs/quests.yaml`), as quests/ and its callers import it.

The model is a config model like the others and lives in `realm_tui.config.quest_policy`
(config/ sits below quests/ and must not import it); this module keeps the board's own name for it.
"""

from __future__ import annotations

from realm_tui.config.quest_policy import ArchiveLimits, QuestPolicy, load_quest_policy

__all__ = ["ArchiveLimits", "QuestPolicy", "load_quest_policy"]
