"""bench/optimizers.py: the per-optimizer profile, the skip decision and the calculator column
(the battles themselves are the bench's job, not the suite's)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from realm_tui.config.realm_config import load_realm_configs
from realm_tui.contract.protocol import TrainJob

ROOT = Path(__file__).resolve().parents[3]


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_optimizers", ROOT / "bench" / "optimizers.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def setup() -> tuple[ModuleType, object, object, TrainJob]:
    configs = load_realm_configs(ROOT / "configs")
    hero = configs.hero("dio-nano")
    td = hero.training_defaults
    job = TrainJob(
        realm_root=str(ROOT),
        hero_id=hero.id,
        hero={},
        quest_paths=(),
        checkpoints_dir="unused",
        batch_size=td.batch_size,
        max_length=td.max_length,
        precision=td.precision,
    )
    return _bench(), hero, configs.profile_for(hero), job


def test_galore_runs_get_a_valid_galore_profile_and_the_rest_the_heros(setup) -> None:
    bench, _, base, _ = setup
    assert bench.profile_for(base, "muon") is base
    galore = bench.profile_for(base, "galore_adamw")
    assert (galore.method, galore.optimizer, galore.galore.rank) == ("galore", "galore_adamw", 64)
    assert (galore.attention, galore.gradient_checkpointing) == (base.attention, base.gradient_checkpointing)


def test_the_games_knob_check_decides_what_is_skipped(setup) -> None:
    import torch

    bench, hero, base, job = setup
    assert bench.refusal(hero, base, job, "adamw") is None
    assert bench.refusal(hero, bench.profile_for(base, "galore_adamw"), job, "galore_adamw") is None
    why = bench.refusal(hero, bench.profile_for(base, "galore_adamw_8bit"), job, "galore_adamw_8bit")
    if torch.cuda.is_available():
        assert why is None
    else:
        assert why is not None and "CUDA" in why


def test_calculator_column_is_two_fp32_moments_for_adamw(setup) -> None:
    from realm_tui.armory.hero_arch import arch_for_hero

    bench, hero, base, job = setup
    params = arch_for_hero(hero).total_params
    assert bench.calculator_state_mib(hero, base, job, "adamw", "bf16") == pytest.approx(8 * params / 2**20)
    assert bench.calculator_state_mib(hero, base, job, "adamw_8bit", "bf16") < 8 * params / 2**20 / 3
