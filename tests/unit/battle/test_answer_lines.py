"""Each headless face prints an eval's answers to show, one line each, after the eval's own line
and the notifications it raised: plain lines, the rich console, JSON `Answer` objects."""

from __future__ import annotations

import io
import json

from rich.console import Console

from realm_tui.battle.plain_render import PlainRenderer
from realm_tui.battle.render import JsonRenderer, RichRenderer
from realm_tui.contract.protocol import EvalResult

RESULTS = (
    {"prompt": "1+1=", "expected": "10", "got": "10", "correct": True},
    {"prompt": "1+10=", "expected": "11", "got": "[b]1[/b]", "correct": False},
    {"prompt": "10+10=", "expected": "100", "got": "1\n0", "correct": False},
    {"prompt": "11+1=", "expected": "100", "got": "100", "correct": True},
)
EVAL = EvalResult(step=5, skill="bin", level=2, accuracy=0.5, total=4, results=RESULTS)
WANTED = [
    "   ↳ bin L2 ✗ 1+10= → [b]1[/b] (expected 11)",
    "   ↳ bin L2 ✗ 10+10= → 1 0 (expected 100)",
    "   ↳ bin L2 ✓ 1+1= → 10",
]


def test_plain_lines() -> None:
    out = io.StringIO()
    PlainRenderer(out).show(EVAL, ["BIN level up: 2"])
    assert out.getvalue().splitlines() == ["🎯 eval bin L2: 50% of 4", "✨ BIN level up: 2", *WANTED]


def test_rich_lines_keep_the_hero_s_brackets() -> None:
    console = Console(file=io.StringIO(), width=200, color_system=None)
    RichRenderer(console).show(EVAL, [])
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert text.splitlines() == ["🎯 eval bin L2: 50% of 4", *WANTED]


def test_json_answer_lines() -> None:
    out = io.StringIO()
    JsonRenderer(out).show(EVAL, ["BIN level up: 2"])
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [e["event"] for e in lines] == ["EvalResult", "Notification", "Answer", "Answer", "Answer"]
    assert [(a["got"], a["correct"], a["step"]) for a in lines[2:]] == [
        ("[b]1[/b]", False, 5),
        ("1 0", False, 5),
        ("10", True, 5),
    ]
