"""The Lore: the shipped table loads, a duplicate key is one error naming file and key, terms are
found by key, label or alias, and `realm lore [TERM]` lists and explains them."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_kit import realm_cli
from realm_tui.config.lore import LORE_FILE, load_lore, lore
from realm_tui.errors import ConfigError


def test_shipped_lore_loads_with_every_field() -> None:
    book = lore()
    assert len(book.terms) > 60
    for key, entry in book.terms.items():
        assert entry.icon and entry.label and entry.tooltip and entry.text, key


def test_duplicate_key_names_the_file_and_the_key(tmp_path: Path) -> None:
    text = LORE_FILE.read_text(encoding="utf-8")
    # a second `stat.atk:` entry at the end: a plain YAML loader would keep it silently
    bad = tmp_path / "lore.yaml"
    bad.write_text(text + "  stat.atk:\n    icon: x\n    label: ATK\n    tooltip: t\n    text: t\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_lore(bad)
    message = str(err.value)
    assert str(bad) in message and "duplicate key 'stat.atk'" in message


def test_two_line_tooltip_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "lore.yaml"
    bad.write_text("terms:\n  a:\n    icon: x\n    label: A\n    tooltip: |\n      one\n      two\n    text: t\n")
    with pytest.raises(ConfigError, match=r"terms\.a\.tooltip: a tooltip is one line"):
        load_lore(bad)


def test_find_by_key_label_alias_and_in_text() -> None:
    book = lore()
    assert book.find("zone.recovery") == ["zone.recovery"]
    assert book.find("ATK") == ["stat.atk"]
    assert book.find("maxed_out") == ["campaign.maxed_out"]
    assert book.find("Circle Runes (BIN)") == ["skill.bin"]
    assert book.find("no such thing") == []
    assert "recovery" in book.close_to("recovry")
    found = book.terms_in("ATK 243  DEF 175 · maintenance multiplier 0.00 (limit 1.00) · ✖ cursed")
    assert found == ["stat.atk", "stat.def", "maintenance.multiplier", "maintenance.limit", "blessing.cursed"]
    assert book.terms_in("ATTACKER, gold-plated") == ["stat.gold"]  # whole words only: ATTACKER is no ATK


def test_cli_lists_every_term(tmp_path: Path) -> None:
    done = realm_cli(tmp_path, "lore")
    assert done.returncode == 0, done.stderr
    for key in ("stat.atk", "zone.overload", "blessing.cursed", "maintenance.multiplier", "school.scribe"):
        assert key in done.stdout


def test_cli_explains_a_term_and_refuses_an_unknown_one(tmp_path: Path) -> None:
    done = realm_cli(tmp_path, "lore", "cursed")
    assert done.returncode == 0, done.stderr
    assert lore().terms["blessing.cursed"].text.split()[0] in done.stdout
    unknown = realm_cli(tmp_path, "lore", "recovry")
    assert unknown.returncode == 2
    assert "no lore for 'recovry'" in unknown.stderr and "recovery" in unknown.stderr
