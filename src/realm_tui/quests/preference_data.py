"""Validating a preference quest for the Judge school (DPO) before a battle, parent side.

The line format is `realm_tui.contract.preference`; problems are reported as `file:line: reason`,
in the same `QuestReport` as chat quests (`realm_tui.quests.validate`). The trainer child reads the
validated file with `realm_tui.trainer.preference_data`.
"""

from __future__ import annotations

from pathlib import Path

from realm_tui.contract.preference import Preference, parse_preference
from realm_tui.errors import InputError
from realm_tui.quests.validate import MAX_LISTED_PROBLEMS, LineProblem, QuestReport, parse_line

MAX_PREFERENCE_BYTES = 2_000_000_000


def read_preferences(path: Path) -> tuple[list[tuple[str, Preference]], QuestReport]:
    """Every usable line as (raw line, preference), and the report of the whole file."""
    path = Path(path)
    if path.is_symlink() or not path.is_file():
        problem = "quest file not found" if not path.exists() else "not a regular file"
        raise InputError(path, "a link, not a regular file" if path.is_symlink() else problem)
    if path.stat().st_size > MAX_PREFERENCE_BYTES:
        raise InputError(path, f"larger than {MAX_PREFERENCE_BYTES:,} bytes; is this really a quest?")
    rows: list[tuple[str, Preference]] = []
    problems: list[LineProblem] = []
    valid: list[int] = []
    blanks = omitted = 0
    try:
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                try:
                    text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
                except UnicodeDecodeError:
                    reason: str | None = "not UTF-8 text"
                else:
                    if not text.strip():
                        blanks += 1
                        continue
                    obj, reason = parse_line(text)
                    if reason is None:
                        pref, reason = parse_preference(obj)
                        if pref is not None:
                            valid.append(number)
                            rows.append((text.rstrip("\r\n"), pref))
                            continue
                if len(problems) < MAX_LISTED_PROBLEMS:
                    problems.append(LineProblem(number, reason or "unusable"))
                else:
                    omitted += 1
    except OSError as err:
        raise InputError(path, f"cannot read: {err.strerror or err}") from None
    return rows, QuestReport(path, tuple(valid), tuple(problems), blanks, omitted_problems=omitted)


def validate_preference_file(path: Path) -> QuestReport:
    return read_preferences(path)[1]


def require_valid_preferences(path: Path) -> QuestReport:
    """Validate and raise one InputError listing file:line problems when the quest is unusable."""
    report = validate_preference_file(path)
    if not report.ok:
        raise InputError(None, "preference quest rejected before training:\n" + report.summary())
    return report
