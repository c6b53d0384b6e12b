"""docs/tui.md lists every key, and docs/tavern.svg is the Tavern over the fixture saves.

Regenerate the picture with: REALM_UPDATE_DOCS=1 pytest tests/ui/test_docs.py
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from realm_tui.ui.app import RealmApp
from realm_tui.ui.keys import GROUPS, bindings_of

DOCS = Path(__file__).resolve().parents[2] / "docs"

pytestmark = pytest.mark.anyio


def test_tui_doc_names_every_binding() -> None:
    text = (DOCS / "tui.md").read_text(encoding="utf-8")
    missing = [b.id for _g, group in GROUPS for b in bindings_of(group) if f"`{b.id}`" not in text]
    assert not missing


async def test_tavern_svg(make_app: Callable[..., RealmApp]) -> None:
    target = DOCS / "tavern.svg"
    if not os.environ.get("REALM_UPDATE_DOCS"):
        assert target.is_file() and "Dio&#160;the&#160;Small" in target.read_text(encoding="utf-8")
        return
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app.save_screenshot(filename=target.name, path=str(DOCS))
