"""Every screen's game terms have lore, and every skill has one name.

The walk: each screen at 100×30 over the fixture realm (a campaign with history), idle and then
during a battle (the scripted trainer bridge, so the live readouts, the zone and the status bar
show), plus the spar picker. The known game terms come from the code, not from the lore: the
enums of rules/ and contract/ (zones, hints, stop reasons, trainer and quest states, campaign
states, schools), the blessing marks and the stat names. Every one of them shown on a screen must
have a lore entry, and the panel showing it must carry its tooltip.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Callable
from typing import Any

import pytest
from textual.widget import Widget
from textual.widgets import DataTable, OptionList
from uiwait import wait_for

from cli_kit import realm_cli
from realm_tui.config.lore import LoreBook, lore
from realm_tui.contract.protocol import StopReason
from realm_tui.contract.school_options import SCHOOLS
from realm_tui.paths import RealmPaths
from realm_tui.rules.strain import CurriculumAction, StrainZone
from realm_tui.store.records import CampaignStatus, QuestPriority, QuestState
from realm_tui.ui.app import RealmApp
from realm_tui.ui.keys import SCREENS
from realm_tui.ui.lore_text import LoreModal, LoreStatic
from realm_tui.ui.models import TrainerState
from realm_tui.ui.screens.vault import BLESSING_MARKS

pytestmark = pytest.mark.anyio

STATS = ("ATK", "DEF", "ACC", "XP", "Gold", "Level")
WORDS = (
    "strain", "effort", "efficiency", "champion", "maintenance multiplier", "limit", "level cap",
    "mastered", "training level", "next level", "peaks", "titles", "achievements", "primitives",
    "checkpoint", "quest", "campaign", "memory profile", "optimizer", "retention", "drift", "New Game+",
    "evals", "maxed out", "Growing", "curriculum hint", "latest", "damaged",
)  # fmt: skip
"""Game words the screens use in prose, beside the enum values."""


def known_terms() -> set[str]:
    """The candidates, from the code's own vocabularies (never from the lore)."""
    terms = {*STATS, *WORDS, *SCHOOLS}
    terms |= {z.value for z in StrainZone} | {a.value for a in CurriculumAction} | {r.value for r in StopReason}
    terms |= {s.value for s in TrainerState}
    for literal in (QuestState, QuestPriority, CampaignStatus):
        terms |= set(typing.get_args(literal))
    terms |= {k for k in BLESSING_MARKS if k}
    return terms


def _pattern(term: str) -> re.Pattern[str]:
    spelled = re.escape(term).replace("_", "[ _]").replace(r"\ ", "[ _]")
    return re.compile(rf"(?<![\w+]){spelled}(?![\w+])", re.IGNORECASE)


def widget_text(widget: Widget) -> str:
    if isinstance(widget, DataTable):
        cells = [str(c.label) for c in widget.columns.values()]
        cells += [str(cell) for i in range(widget.row_count) for cell in widget.get_row_at(i)]
        return "\n".join(cells)
    if isinstance(widget, OptionList):
        return "\n".join(str(widget.get_option_at_index(i).prompt) for i in range(widget.option_count))
    try:
        rendered = widget.render()
    except Exception:  # a widget that renders only inside a layout
        return ""
    text = str(rendered)
    return "" if text.startswith("<") and "object at" in text else text


def missing_lore(texts: dict[str, str], book: LoreBook) -> list[tuple[str, str]]:
    """(where, term) for every known term shown in `texts` that has no lore entry."""
    candidates = {t: _pattern(t) for t in known_terms()}
    return sorted(
        (where, term)
        for where, text in texts.items()
        for term, pattern in candidates.items()
        if pattern.search(text) and not book.find(term)
    )


async def _collect(app: RealmApp, texts: dict[str, str], label: str, tips: dict[str, str]) -> None:
    for widget in app.screen.query("*"):
        text = widget_text(widget)
        if text.strip():
            key = f"{label}:{type(widget).__name__}#{widget.id}"
            texts[key] = text
            if isinstance(widget, LoreStatic):
                tips[key] = str(widget.tooltip or "")


async def _walk(pilot: Any, app: RealmApp, label: str, texts: dict[str, str], tips: dict[str, str]) -> None:
    for screen in SCREENS:
        await pilot.press(screen.number)
        await pilot.pause()
        await pilot.pause()
        await _collect(app, texts, f"{label}/{screen.mode}", tips)


async def test_every_shown_game_term_has_lore_and_a_tooltip(make_app: Callable[..., RealmApp]) -> None:
    app = make_app(battle_steps=100_000)
    texts: dict[str, str] = {}
    tips: dict[str, str] = {}
    async with app.run_test(size=(100, 30)) as pilot:
        await _walk(pilot, app, "idle", texts, tips)
        await pilot.press("5", "m")  # the spar picker names the skills too
        await pilot.pause()
        await _collect(app, texts, "spar-picker", tips)
        await pilot.press("escape", "s")
        await wait_for(pilot, lambda: app.game.live is not None and app.game.live.step >= 3, what="3 steps")
        await _walk(pilot, app, "battle", texts, tips)
        await pilot.press("x")
        await wait_for(pilot, lambda: not app.game.trainer_state.busy, timeout=60, what="stopped")

    book = lore()
    shown = {t for t in known_terms() if any(_pattern(t).search(x) for x in texts.values())}
    assert {"ATK", "recovery", "productive", "TRAINING".lower(), "queued", "champion"} & shown  # the walk saw terms
    assert len(shown) >= 20, sorted(shown)
    assert missing_lore(texts, book) == []
    # each panel that shows a term explains it on hover
    for key, text in texts.items():
        if key in tips:
            for term in book.terms_in(text):
                assert book.terms[term].tooltip in tips[key] or len(book.terms_in(text)) > 8, (key, term)

    # the check can fail: without the ATK entry, the walk finds ATK unexplained
    poorer = book.model_copy(
        update={"terms": {k: v for k, v in book.terms.items() if k not in ("stat.atk", "zone.idle")}}
    )
    assert {term for _w, term in missing_lore(texts, poorer)} == {"ATK"}


def skill_names(texts: dict[str, str], realm: RealmPaths) -> list[str]:
    """Every place a skill's name shows in a form other than its one name (`Circle Runes (BIN)`)."""
    from realm_tui.config.realm_config import load_realm_configs

    wrong = []
    for cfg in load_realm_configs(realm.configs).skills.values():
        one = cfg.display_name
        for where, text in texts.items():
            if cfg.name in text and cfg.name not in one:
                wrong.append(f"{where}: {cfg.name!r} instead of {one!r}")
            for match in re.finditer(re.escape(cfg.rpg_name), text):
                if text[match.start() : match.start() + len(one)] != one:
                    wrong.append(f"{where}: {text[match.start() : match.end() + 8]!r} instead of {one!r}")
    return wrong


async def test_one_name_per_skill_on_every_screen_and_in_the_cli(
    make_app: Callable[..., RealmApp], realm: RealmPaths
) -> None:
    app = make_app()
    texts: dict[str, str] = {}
    async with app.run_test(size=(100, 30)) as pilot:
        await _walk(pilot, app, "idle", texts, {})
        await pilot.press("5", "m")
        await pilot.pause()
        await _collect(app, texts, "spar-picker", {})
    assert any("Circle Runes (BIN)" in t for k, t in texts.items() if k.startswith("spar-picker"))
    assert any("Circle Runes (BIN)" in t for k, t in texts.items() if "guild" in k)
    done = realm_cli(realm.root, "skills")
    assert done.returncode == 0, done.stderr
    texts["cli:realm skills"] = done.stdout
    assert "Circle Runes (BIN)" in done.stdout
    assert skill_names(texts, realm) == []
    # the check can fail: the spar picker's old naming is caught
    assert skill_names({"old picker": "BIN · Binary Arithmetic"}, realm)


async def test_question_mark_on_a_focused_term_opens_its_lore(make_app: Callable[..., RealmApp]) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        stats = app.screen.query_one("#stats", LoreStatic)
        assert "ATK" in str(stats.tooltip) and lore().terms["stat.atk"].tooltip in str(stats.tooltip)
        stats.focus()
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, LoreModal), what="lore modal")
        text = str(app.screen.query_one("#lore-text").render())
        assert lore().terms["stat.def"].text[:40] in text.replace("\n", " ")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, LoreModal), what="lore closed")
