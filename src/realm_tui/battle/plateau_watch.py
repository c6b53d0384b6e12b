"""The `plateau` stop rule during one battle: the training-level evals it has seen, judged by
`rules.plateau`. Held by the battle's `ProgressionKeeper` (which knows which evals are at a
skill's training level); the conductor turns its verdict into `Stop(reason=plateau)`."""

from __future__ import annotations

from realm_tui.rules.plateau import LevelEval, PlateauVerdict, check_plateau


class PlateauWatch:
    """Training-level evals of this battle, per skill; fires once."""

    def __init__(self, patience: int) -> None:
        if patience < 1:
            raise ValueError(f"plateau evals must be >= 1, got {patience}")
        self.patience = patience
        self.history: dict[str, list[LevelEval]] = {}
        self.fired = False

    def record(self, skill: str, level: int, accuracy: float) -> None:
        self.history.setdefault(skill, []).append(LevelEval(level, accuracy))

    def level_up(self, skill: str) -> None:
        """The skill mastered its level: its next training level starts with no history."""
        self.history.pop(skill, None)

    def verdict(self, trained: set[str]) -> PlateauVerdict | None:
        """The verdict the first time every skill evaluated in this battle (and still `trained`)
        has plateaued; None before, and after it fired."""
        if self.fired:
            return None
        seen = {skill: h for skill, h in self.history.items() if skill in trained and h}
        if not seen:
            return None
        verdict = check_plateau(seen, self.patience)
        if not verdict.plateaued:
            return None
        self.fired = True
        return verdict
