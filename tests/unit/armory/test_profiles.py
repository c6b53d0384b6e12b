"""Profiles in the Armory: loading, the explained suggestion, and sizing a profile's limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from realm_tui.armory.arch import QWEN3_8B
from realm_tui.armory.profiles import arch_for_size, explain_suggestion, fit_within, load_profiles
from realm_tui.armory.vram import GIB
from realm_tui.config.memory_profile import MemoryProfile, NoProfileFits
from realm_tui.errors import ConfigError

CONFIGS = Path(__file__).resolve().parents[3] / "configs"


def test_load_profiles() -> None:
    found = load_profiles(CONFIGS)
    assert "cpu_tiny" in found and "24gb_qlora" in found
    assert all(pid == p.id for pid, p in found.items())


def test_load_profiles_needs_the_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_profiles(tmp_path)


def test_eight_billion_on_24_gb(profiles: dict[str, MemoryProfile]) -> None:
    s = explain_suggestion(8, 24, profiles)
    assert s.profile.id == "24gb_qlora"
    assert s.arch == QWEN3_8B
    assert any("1-9B" in r for r in s.reasons)
    assert any("qlora" in r for r in s.reasons)
    passed = dict(s.rejected)
    assert "meant for" in passed["24gb_full_small"]
    assert "ranked lower" in passed["24gb_qlora_8bit_opt"]
    assert "meant for 0.5-4B" in passed["24gb_galore"]  # whole-model GaLore does not fit an 8B in 24 GB
    assert s.fit is not None and s.fit.max_seq_at_batch_1 > 0


def test_preference_is_explained(profiles: dict[str, MemoryProfile]) -> None:
    s = explain_suggestion(4, 24, profiles, prefer="galore")
    assert s.profile.method == "galore"
    assert any("you preferred galore" in r for r in s.reasons)


def test_unhonoured_preference_says_why(profiles: dict[str, MemoryProfile]) -> None:
    s = explain_suggestion(8, 24, profiles, prefer="galore")
    assert s.profile.method != "galore"
    line = next(r for r in s.reasons if r.startswith("you preferred galore"))
    assert "no galore profile fits 8B on 24 GB" in line and "24gb_galore: meant for 0.5-4B models" in line
    s = explain_suggestion(2, 16, profiles, prefer="galore")  # in range, but the card is too small
    assert any("24gb_galore: needs 22 GB, more than 16 GB" in r for r in s.reasons)
    only_lora = {pid: p for pid, p in profiles.items() if p.method != "galore"}
    s = explain_suggestion(2, 24, only_lora, prefer="galore")
    assert any("this realm has no memory profile with method galore" in r for r in s.reasons)
    honoured = explain_suggestion(4, 24, profiles, prefer="galore")
    assert not any("but" in r for r in honoured.reasons)


def test_cpu_suggestion(profiles: dict[str, MemoryProfile]) -> None:
    s = explain_suggestion(0.003, 0, profiles)
    assert s.profile.id == "cpu_tiny"
    assert s.fit is None
    with pytest.raises(NoProfileFits):
        explain_suggestion(12, 0, profiles)


def test_fit_within(profiles: dict[str, MemoryProfile]) -> None:
    qlora = profiles["24gb_qlora"]
    roomy = fit_within(QWEN3_8B, qlora, 140 * GIB)
    assert roomy.max_batch == qlora.max_batch_size
    assert roomy.max_seq_at_batch_1 == qlora.max_seq_length
    tight = fit_within(QWEN3_8B, qlora, 8 * GIB)
    assert tight.max_batch == 0 and tight.max_seq_at_batch_1 < qlora.max_seq_length
    assert fit_within(QWEN3_8B, qlora, 1 * GIB).max_seq_at_batch_1 == 0


def test_arch_for_size() -> None:
    assert arch_for_size(8.2) == QWEN3_8B
    guess = arch_for_size(13)
    assert guess.approximate
