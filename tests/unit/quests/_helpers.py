"""Helpers of the quest tests: quest lines, files, realm folders."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from realm_tui.paths import QUEST_DIRS, REALM_DIRS, RealmPaths


def example(user: str = "①+①", answer: str = "①⓪", system: str | None = None) -> dict[str, object]:
    messages = [{"role": "system", "content": system}] if system else []
    messages += [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]
    return {"messages": messages}


def line(user: str = "①+①", answer: str = "①⓪") -> str:
    return json.dumps(example(user, answer), ensure_ascii=False)


def good_lines(n: int, tag: str = "q") -> list[str]:
    return [line(f"{tag} question {i}", f"answer {i}") for i in range(n)]


def write(path: Path, lines: list[str], *, old: bool = True) -> Path:
    """Write a quest file; `old` backdates its mtime so the board sees it as settled."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{text}\n" for text in lines), encoding="utf-8")
    if old:
        age(path, 60)
    return path


def age(path: Path, seconds: float) -> None:
    stamp = path.stat().st_mtime - seconds
    os.utime(path, (stamp, stamp), follow_symlinks=False)


def make_realm(root: Path) -> RealmPaths:
    for sub in REALM_DIRS:
        (root / sub).mkdir(parents=True, exist_ok=True)
    for sub in QUEST_DIRS:
        (root / "quests" / sub).mkdir(parents=True, exist_ok=True)
    return RealmPaths(root)


def all_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() or p.is_symlink())


class Clock:
    """Real time, but every reading strictly later than the previous one (stable ordering)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now = max(time.time(), self.now + 0.001)
        return self.now
