"""The UI's plain layers (no app): converters, the Armory's YAML edit, the Vault, formatting."""

from __future__ import annotations

import pytest
from ui_testkit import CAMPAIGN

from realm_tui.armory.knobs import Environment
from realm_tui.config.hero import HeroConfig
from realm_tui.config.loader import load_model
from realm_tui.config.realm_config import load_realm_configs
from realm_tui.paths import RealmPaths
from realm_tui.services.armory import (
    ArmoryForm,
    apply_form,
    edited_text,
    estimate_vram,
    form_for,
    needs_machine_probe,
    refusals_here,
    validate_form,
)
from realm_tui.services.records import read_progress
from realm_tui.services.vault import Vault, VaultRefusal
from realm_tui.store import EventRecord, Store
from realm_tui.ui.models import format_bytes, format_duration
from realm_tui.ui.views import build_guild_view, build_hero_sheet, log_line


def test_hero_sheet_from_the_fixture(realm: RealmPaths) -> None:
    configs = load_realm_configs(realm.configs)
    with Store.open(realm.store_file) as store:
        progress = read_progress(store, regressions=True)
        sheet = build_hero_sheet(configs, progress)
        guild = build_guild_view(configs, progress, hero_title=sheet.title)
    st = sheet.stats
    assert (sheet.campaign_id, st.level, st.xp_into_level) == (CAMPAIGN, 2, 400)
    assert st.atk == round(100 / 0.412) and st.defense == round(100 / 0.57)
    assert st.acc == pytest.approx((0.78 + 0.48) / 2)  # latest eval at each skill's training level
    assert sheet.title == "Bit Fiddler"  # bin mastered 3 (titles.yaml)
    bin_view = next(s for s in guild.skills if s.skill == "bin")
    assert (bin_view.mastered, bin_view.training_level, bin_view.decision.level_up) == (3, 4, False)
    assert [w.primitive for w in guild.weak] == ["fmt_json", "mem_recall"]


def test_log_lines_from_stored_events() -> None:
    assert log_line(EventRecord(kind="level_up", data={"level": 3, "step": 3000})).kind == "level"
    assert "boom" in log_line(EventRecord(kind="error", data={"message": "trace\nboom"})).text
    note = log_line(EventRecord(kind="new_champion", data={"title": "New champion!", "body": "c-1"}))
    assert note.text == "New champion!: c-1" and note.kind == "note"


def test_armory_edit_keeps_comments_and_validates(realm: RealmPaths) -> None:
    configs = load_realm_configs(realm.configs)
    form = form_for(configs, "dio-nano")
    changed = ArmoryForm(**{**form.__dict__, "batch_size": 16, "learning_rate": 2e-4, "optimizer": "adamw_torch_fused"})
    text = edited_text((realm.heroes_config / "dio-nano.yaml").read_text(), changed)
    assert text is not None and "# The default hero" in text and "batch_size: 16" in text
    backup = apply_form(realm, configs, changed)
    hero = load_model(realm.heroes_config / "dio-nano.yaml", HeroConfig)
    assert (hero.training_defaults.batch_size, hero.training_defaults.learning_rate) == (16, 2e-4)
    assert backup.is_file() and "batch_size: 32" in backup.read_text()
    too_big = ArmoryForm(**{**form.__dict__, "max_length": 4096})
    hero_or_none, problems = validate_form(configs, too_big)
    assert hero_or_none is None and any("max_length" in p for p in problems)
    with pytest.raises(ValueError):
        apply_form(realm, configs, too_big)


def test_vram_estimate_is_the_calculator_and_refuses_an_invalid_form(realm: RealmPaths) -> None:
    configs = load_realm_configs(realm.configs)
    form = form_for(configs, "dio-nano")
    estimate = estimate_vram(configs, form)
    assert estimate.source == "in CPU RAM"
    assert estimate.total_gb > 0 and estimate.parts
    with pytest.raises(ValueError, match="max_length"):  # no made-up figure for settings that cannot train
        estimate_vram(configs, ArmoryForm(**{**form.__dict__, "max_length": 2048}))
    with pytest.raises(ValueError, match="unknown profile"):
        estimate_vram(configs, ArmoryForm(**{**form.__dict__, "memory_profile": "nope"}))


def test_refusals_here_follow_the_machine(realm: RealmPaths) -> None:
    configs = load_realm_configs(realm.configs)
    form = ArmoryForm(**{**form_for(configs, "dio-nano").__dict__, "memory_profile": "24gb_qlora", "batch_size": 1})
    hero, problems = validate_form(configs, form)
    assert hero is not None and not problems and needs_machine_probe(configs, form)
    on_cpu = refusals_here(configs, hero, form, Environment(bnb_installed=True))
    assert any("bitsandbytes with CUDA" in p for p in on_cpu) and any("flash_attention_2" in p for p in on_cpu)
    assert refusals_here(configs, hero, form, None) == []  # machine-independent problems only: none
    plain = form_for(configs, "dio-nano")
    assert not needs_machine_probe(configs, plain)


def test_vault_rules(realm: RealmPaths) -> None:
    with Store.open(realm.store_file) as store:
        vault = Vault(realm, store, disk_usage=lambda _p: (10, 5, 5))
        rows = vault.rows(CAMPAIGN)
        assert [r.step for r in rows] == [2400, 2200, 1800, 1000]
        with pytest.raises(VaultRefusal, match="not judged"):
            vault.promote(rows[0].name)
        with pytest.raises(VaultRefusal, match="latest"):
            vault.delete(rows[0].name)
        with pytest.raises(VaultRefusal, match="champion"):
            vault.delete(rows[2].name)
        target = vault.export(rows[1].name)
        assert not (target / "trainer_state.pt").exists() and not (target / "manifest.json").exists()
        assert vault.disk(CAMPAIGN).checkpoints == 4


def test_formatting() -> None:
    assert format_duration(3725) == "1h02m" and format_duration(65) == "1m05s" and format_duration(-1) == "—"
    assert format_bytes(512) == "512 B" and format_bytes(36_000_000) == "34.3 MiB"
