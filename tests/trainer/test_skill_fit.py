"""Skills against the hero's max_length (SY on the shipped dio-nano), the loud warning when a
curriculum skill cannot fit, and each skill's own eval sample count inside a battle."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from trainer_testkit import TINY_NANO

from realm_tui.config.realm_config import load_realm_configs
from realm_tui.contract.protocol import EvalResult
from realm_tui.skills import get_skill
from realm_tui.trainer import nano
from realm_tui.trainer.data import PACK_ROW_TOKENS, ChatFormat, make_batch, tokenize_chat
from realm_tui.trainer.evaluate import answer_budget, prompt_ids
from realm_tui.trainer.mixer import Mixer

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def skill_curriculum(**levels: int) -> dict:
    skills = {
        sid: {"level": lv, "mastered": lv - 1, "weight": 1.0, "review_levels": [], "maintenance_levels": []}
        for sid, lv in levels.items()
    }
    return {"strategy": "weighted", "focus_skill": None, "quest_share": 0.0, "review_share": 0.0, "skills": skills}


@pytest.fixture(scope="module")
def tokenizer():
    return nano.build_tokenizer()


@pytest.mark.parametrize("level", [1, 5])
def test_shipped_dio_nano_trains_and_evaluates_sy(tokenizer, level: int) -> None:
    """Every eval problem of SY L1 and L5, whole (prompt, answer, end token), fits dio-nano's
    max_length, and its generation (prompt + answer budget) fits the model's positions."""
    hero = load_realm_configs(CONFIGS).heroes["dio-nano"]
    assert hero.model.nano is not None
    max_length, positions = hero.training_defaults.max_length, hero.model.nano.max_position_embeddings
    problems = get_skill("sy").heldout_eval_set(level, 100)
    chat = ChatFormat.from_hero(hero.model_dump(mode="json"))
    lengths = [len(tokenize_chat(p.messages(), tokenizer, 1 << 20, chat)) for p in problems]
    assert max(lengths) <= max_length, f"SY L{level} needs up to {max(lengths)} tokens, max_length is {max_length}"
    generation = [len(prompt_ids(p.messages()[:-1], tokenizer, chat)) + answer_budget(p, tokenizer) for p in problems]
    assert max(generation) <= positions


def test_mixer_says_at_start_when_a_skill_cannot_fit(tokenizer) -> None:
    logs: list[str] = []
    mixer = Mixer(None, tokenizer, ChatFormat(), 256, 5, None, skill_curriculum(bin=1, sy=1), log=logs.append)
    (warning,) = logs
    assert "sy level 1 CANNOT BE TRAINED" in warning and "max_length is 256" in warning
    assert "training_defaults.max_length" in warning and "configs/curriculum.yaml" in warning
    mixer.set_curriculum(skill_curriculum(bin=1, sy=1))
    for _ in range(3):
        mixer.next_examples(8)
    assert logs == [warning], "said once, at the start, not again per draw"
    mixer.set_curriculum(skill_curriculum(bin=1, sy=2))
    assert len(logs) == 2 and "sy level 2 CANNOT BE TRAINED" in logs[1], "a new level is checked when it arrives"

    quiet: list[str] = []
    Mixer(None, tokenizer, ChatFormat(), 768, 5, None, skill_curriculum(bin=1, sy=1), log=quiet.append)
    assert quiet == []


def test_mixer_warns_when_part_of_a_level_is_too_long(tokenizer) -> None:
    logs: list[str] = []
    Mixer(None, tokenizer, ChatFormat(), 540, 5, None, skill_curriculum(sy=1), log=logs.append)
    (warning,) = logs
    assert "sampled problems are longer than max_length 540" in warning and "CANNOT" not in warning


def test_each_skill_is_evaluated_with_its_own_sample_count(make_job, battle, tmp_path: Path) -> None:
    hero = {"id": "tiny-1k", "model": {"builder": "nano", "nano": {**TINY_NANO, "max_position_embeddings": 1024}}}
    job = make_job(
        hero=hero,
        hero_id="tiny-1k",
        quest_paths=(),
        quest_id="skills",
        curriculum=skill_curriculum(bin=1, sy=1),
        max_length=768,
        max_steps=1,
        eval_every_steps=1,
        eval_samples=8,
        eval_samples_by_skill={"bin": 5, "sy": 3},
    )
    stopped, events = battle(job)
    assert stopped.reason == "finished"
    totals = {(e.skill, e.level): (e.total, len(e.results)) for e in events.of(EvalResult)}
    assert totals == {("bin", 1): (5, 5), ("sy", 1): (3, 3)}
    fallback = make_job(
        quest_paths=(),
        quest_id="skills",
        checkpoints_dir=str(tmp_path / "fallback"),
        curriculum=skill_curriculum(bin=1),
        max_steps=1,
        eval_every_steps=1,
        eval_samples=4,
    )
    _, events = battle(fallback)
    assert [e.total for e in events.of(EvalResult)] == [4], "a skill the job does not list uses eval_samples"


def test_a_long_max_length_keeps_short_examples_in_narrow_rows(tokenizer) -> None:
    """Packed rows are PACK_ROW_TOKENS wide unless an example is longer, so raising max_length for
    SY costs BIN nothing: the same rows as with max_length 256."""
    short = [tokenize_chat(p.messages(), tokenizer, 1024) for p in get_skill("bin").generate(10, 32, seed=2)]
    wide, narrow = (make_batch(short, packing=True, max_length=n, pad_id=0) for n in (1024, 256))
    assert wide["input_ids"].shape[1] <= PACK_ROW_TOKENS and len(wide["input_ids"]) > 2
    assert all(torch.equal(wide[k], narrow[k]) for k in narrow)
    long = tokenize_chat(get_skill("sy").heldout_eval_set(1, 1)[0].messages(), tokenizer, 1024)
    mixed = make_batch([long, *short[:8]], packing=True, max_length=1024, pad_id=0)
    assert mixed["input_ids"].shape[1] == len(long), "a row as wide as the longest example, no wider"


def test_validation_examples_are_built_once_per_level(tokenizer) -> None:
    """Every checkpoint measures the same held-out set: it is generated and tokenized once."""
    mixer = Mixer(None, tokenizer, ChatFormat(), 256, 5, None, skill_curriculum(bin=2))
    first = mixer.val_sets(64)
    again = mixer.val_sets(64)
    assert first["bin"] and again["bin"] is first["bin"]
    ((key, cached),) = mixer._val_cache.items()
    assert key[:2] == ("bin", 2) and cached is first["bin"]
    assert [e.input_ids for e in cached] == [e.input_ids for e in mixer._make_skill_val(*key)], "the set it would build"
    mixer.set_curriculum(skill_curriculum(bin=3))
    assert mixer.val_sets(64)["bin"] is not first["bin"], "a new level has its own set"
