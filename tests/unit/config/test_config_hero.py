"""HeroConfig: the model source, chat tokens, training defaults and their cross-field checks."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from pydantic import ValidationError

from realm_tui.config.hero import HeroConfig, TrainingDefaults
from realm_tui.config.loader import format_validation_error
from realm_tui.contract.protocol import TrainJob


def hero(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "tester",
        "name": "Tester",
        "model": {"builder": "nano", "size_b": 0.003},
        "memory_profile": "cpu_tiny",
    }
    data.update(changes)
    return data


def problem(data: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as info:
        HeroConfig.model_validate(data)
    return format_validation_error(info.value)


def test_minimal_nano_hero_gets_every_default() -> None:
    cfg = HeroConfig.model_validate(hero())
    assert cfg.model.nano is not None
    assert (cfg.model.nano.hidden_size, cfg.model.nano.num_layers, cfg.model.nano.seed) == (256, 4, 1234)
    assert (cfg.model.nano.num_kv_heads, cfg.model.nano.vocab) == (2, "bytes+chars")
    assert cfg.chat.im_start == "<|im_start|>" and cfg.chat.im_end == "<|im_end|>"
    assert cfg.retention.keep_last == 3 and cfg.retention.keep_daily
    assert cfg.steps_per_level == 1000
    assert cfg.training_defaults.lr_schedule == "constant"


def test_hub_hero() -> None:
    cfg = HeroConfig.model_validate(hero(model={"hf_name": "Qwen/Qwen3-0.6B", "size_b": 0.6}))
    assert cfg.model.builder is None and cfg.model.nano is None


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ({"hf_name": "Qwen/Qwen3-0.6B", "builder": "nano", "size_b": 0.6}, "model: give exactly one"),
        ({"size_b": 0.6}, "model: give exactly one"),
        ({"hf_name": "x/y", "nano": {}, "size_b": 0.6}, "model.nano: only allowed with builder"),
        ({"builder": "big", "size_b": 0.6}, "model.builder"),
        ({"builder": "nano", "size_b": 0}, "model.size_b"),
        ({"builder": "nano", "size_b": 0.003, "nano": {"num_heads": 4, "num_kv_heads": 3}}, "must divide"),
        ({"builder": "nano", "size_b": 0.003, "nano": {"layers": 4}}, "model.nano.layers: unknown key"),
        ({"hf_name": "", "size_b": 0.6}, "model.hf_name"),
    ],
)
def test_model_source_rules(model: dict[str, Any], expected: str) -> None:
    assert expected in problem(hero(model=model))


@pytest.mark.parametrize(
    ("defaults", "expected"),
    [
        ({"batch_size": "32"}, "training_defaults.batch_size: Input should be a valid integer"),
        ({"batch_size": 1.5}, "training_defaults.batch_size"),
        ({"batch_size": 0}, "training_defaults.batch_size"),
        ({"learning_rate": "1e-3"}, "training_defaults.learning_rate"),
        ({"learning_rate": 0}, "training_defaults.learning_rate"),
        ({"optimizer": "sgd"}, "training_defaults.optimizer"),
        ({"lr_schedule": "linear"}, "training_defaults.lr_schedule"),
        ({"precision": "fp16"}, "training_defaults.precision"),
        ({"packing": "yes"}, "training_defaults.packing"),
        ({"val_fraction": 0.6}, "training_defaults.val_fraction"),
        ({"save_minutes": 0}, "training_defaults.save_minutes"),
        ({"max_length": 2048}, "training_defaults.max_length: 2048 is longer than model.nano"),
    ],
)
def test_training_defaults_rules(defaults: dict[str, Any], expected: str) -> None:
    assert expected in problem(hero(training_defaults=defaults))


def test_every_listed_optimizer_is_accepted() -> None:
    for name in (
        "adamw",
        "adamw_torch_fused",
        "adamw_8bit",
        "paged_adamw_32bit",
        "paged_adamw_8bit",
        "galore_adamw",
        "galore_adamw_8bit",
        "muon",
    ):
        assert TrainingDefaults.model_validate({"optimizer": name}).optimizer == name


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"id": "Dio Nano"}, "id"),
        ({"id": "../escape"}, "id"),
        ({"name": ""}, "name"),
        ({"memory_profile": "no/slashes"}, "memory_profile"),
        ({"portrait": "\n".join(["x"] * 17)}, "portrait: 17 lines"),
        ({"portrait": "x" * 41}, "portrait: a line is 41 columns"),
        ({"portrait": "\tx"}, "portrait: tabs"),
        ({"chat": {"im_start": "<|x|>", "im_end": "<|x|>"}}, "chat.im_end: must differ"),
        ({"level_titles": {-1: "Ghost"}}, "level_titles"),
        (
            {"idle": {"skill_priorities": {"sy": -1.0}}},
            "idle.skill_priorities: priorities cannot be negative",
        ),
        ({"retention": {"keep_last": 0}}, "retention.keep_last"),
        ({"steps_per_level": 0}, "steps_per_level"),
        ({"nickname": "D"}, "nickname: unknown key"),
    ],
)
def test_hero_field_rules(changes: dict[str, Any], expected: str) -> None:
    assert expected in problem(hero(**changes))


def test_portrait_and_level_titles_accepted() -> None:
    cfg = HeroConfig.model_validate(hero(portrait="  /\\\n (oo)\n", level_titles={1: "Squire", 10: "Knight"}))
    assert cfg.level_titles == {1: "Squire", 10: "Knight"}


def test_a_loaded_hero_is_frozen() -> None:
    cfg = HeroConfig.model_validate(hero())
    with pytest.raises(ValidationError):
        cfg.name = "Other"  # type: ignore[misc]


def test_job_kwargs_feed_a_train_job() -> None:
    defaults = TrainingDefaults.model_validate({"gradient_accumulation": 4, "save_minutes": 2.0})
    kwargs = defaults.job_kwargs()
    assert set(kwargs) <= {f.name for f in dataclasses.fields(TrainJob)}
    job = TrainJob(realm_root=".", hero_id="h", hero={}, quest_paths=(), checkpoints_dir=".", **kwargs)
    assert (job.grad_accum, job.save_minutes) == (4, 2.0)
