"""The Arena school (GRPO): the objective's pure functions, sampling, judging, and real tiny battles."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch

from realm_tui.contract.protocol import Error, Log, Step, Stop
from realm_tui.contract.school_options import school_learning_rate, school_settings
from realm_tui.errors import InputError
from realm_tui.skills import get_skill
from realm_tui.skills.base import Problem
from realm_tui.skills.judging import Rewards, Verdict, judge, require_scorer
from realm_tui.trainer import arena
from realm_tui.trainer.control import ScriptedControl
from realm_tui.trainer.sampling import pick, sample_ids

LORA = {"method": "lora", "lora": {"r": 4, "alpha": 8.0, "dropout": 0.0}}


def bin_curriculum(level: int = 1) -> dict[str, Any]:
    return {
        "strategy": "weighted",
        "focus_skill": None,
        "quest_share": 0.0,
        "review_share": 0.0,
        "skills": {
            "bin": {"level": level, "mastered": level - 1, "weight": 1.0, "review_levels": [], "maintenance_levels": []}
        },
    }


# ---------------------------------------------------------------- the objective (hand-computed)


def test_group_advantages_by_hand() -> None:
    rewards = torch.tensor([[1.0, 0.0, 0.0, 1.0], [0.5, 0.5, 0.5, 0.5]])
    std = math.sqrt(4 * 0.25 / 3)  # unbiased std of (1, 0, 0, 1)
    scaled = arena.group_advantages(rewards)
    expected = 0.5 / (std + arena.ADVANTAGE_EPS)
    assert scaled[0].tolist() == pytest.approx([expected, -expected, -expected, expected])
    assert scaled[1].tolist() == [0.0, 0.0, 0.0, 0.0]  # all equal: no signal, never NaN
    assert arena.group_advantages(rewards, scale=False)[0].tolist() == [0.5, -0.5, -0.5, 0.5]
    assert arena.signal_groups(rewards).tolist() == [True, False]
    with pytest.raises(ValueError):
        arena.group_advantages(torch.tensor([[1.0], [0.0]]))


def test_a_group_of_equal_rewards_has_exactly_zero_advantages() -> None:
    """Eight equal rewards whose float32 mean is off by an ulp (1.6 + 0.1 · 0.7 …): the old
    (r − mean) / (std + 1e-4) gave them advantages of ~1e-3, so every answer of a no-signal group
    went through the policy's forward and backward."""
    reward = Rewards(0.5, 0.1).of(Verdict(correct=False, partial=0.6, formatted=True))
    rewards = torch.full((3, 8), reward, dtype=torch.float32)
    rewards[2, 0] = 0.0  # one group with a signal
    for scale in (True, False):
        advantages = arena.group_advantages(rewards, scale=scale)
        assert advantages.dtype == torch.float32
        assert (advantages[:2] == 0).all()
        assert (advantages[2] != 0).all()


def test_negative_advantages_are_weighed_and_positive_ones_kept() -> None:
    advantages = torch.tensor([[1.5, -0.5, -1.0, 0.0]])
    assert torch.equal(arena.weigh_negatives(advantages, 1.0), advantages)
    assert arena.weigh_negatives(advantages, 0.25).tolist() == [[1.5, -0.125, -0.25, 0.0]]
    assert arena.weigh_negatives(advantages, 0.0).tolist() == [[1.5, 0.0, 0.0, 0.0]]
    with pytest.raises(ValueError, match="negative weight"):
        arena.weigh_negatives(advantages, 1.5)


def test_token_terms_clip_and_kl_by_hand() -> None:
    logps = torch.tensor([[0.0, 0.5, 0.5]])
    old = torch.zeros(1, 3)
    up = arena.token_terms(logps, old, torch.tensor([2.0]), clip_low=0.2, clip_high=0.2)
    # ratio 1 → −2; ratio e^0.5 ≈ 1.649 with A > 0 is clipped to 1.2 → −2.4
    assert up[0].tolist() == pytest.approx([-2.0, -2.4, -2.4])
    down = arena.token_terms(logps, old, torch.tensor([-1.0]), clip_low=0.2, clip_high=0.2)
    # A < 0: min(−1.649, −1.2) = −1.649 → the unclipped ratio counts
    assert down[0].tolist() == pytest.approx([1.0, math.exp(0.5), math.exp(0.5)])
    kl = arena.kl_k3(torch.tensor([-1.0]), torch.tensor([-2.0]))
    assert kl.item() == pytest.approx(math.exp(-1) + 1 - 1)
    with_kl = arena.token_terms(
        torch.tensor([[-1.0]]),
        torch.tensor([[-1.0]]),
        torch.tensor([0.0]),
        clip_low=0.2,
        clip_high=0.2,
        ref_logps=torch.tensor([[-2.0]]),
        beta=0.5,
    )
    assert with_kl.item() == pytest.approx(0.5 * math.exp(-1))


def test_the_three_normalisations_by_hand() -> None:
    terms = torch.tensor([[1.0, 2.0, 9.0], [3.0, 9.0, 9.0]])
    mask = torch.tensor([[1, 1, 0], [1, 0, 0]])
    totals = {"total_sequences": 2, "total_tokens": 3, "max_tokens": 4}
    assert arena.normalise(terms, mask, "grpo", **totals).item() == pytest.approx((1.5 + 3.0) / 2)
    assert arena.normalise(terms, mask, "dr_grpo", **totals).item() == pytest.approx(6.0 / (2 * 4))
    assert arena.normalise(terms, mask, "dapo", **totals).item() == pytest.approx(6.0 / 3)
    # Chunks of one step add up to the whole step's loss.
    for kind in ("grpo", "dr_grpo", "dapo"):
        whole = arena.normalise(terms, mask, kind, **totals)
        parts = sum(arena.normalise(terms[i : i + 1], mask[i : i + 1], kind, **totals) for i in range(2))
        assert float(parts) == pytest.approx(float(whole))
    with pytest.raises(ValueError):
        arena.normalise(terms, mask, "ppo", **totals)


# ---------------------------------------------------------------- judging (shared with sparring)


def test_partial_credit_and_format_of_bin_and_sy() -> None:
    skill = get_skill("bin")
    problem = Problem("bin", 1, "①⓪ + ⓪① =", "①①", ("seq_add",))
    assert judge(skill, problem, "①①") == Verdict(True, 1.0, True)
    assert judge(skill, problem, "⓪①") == Verdict(False, 0.5, True)  # the low bit is right
    assert judge(skill, problem, "①①①") == Verdict(False, pytest.approx(2 / 3), False)  # one symbol too many
    assert judge(skill, problem, "hello") == Verdict(False, 0.0, False)
    sy = get_skill("sy")
    gold = {"words": [{"syllables": ["TA", "BLE"], "word": "TABLE"}, {"syllables": ["CHAIR"], "word": "CHAIR"}]}
    puzzle = Problem("sy", 1, "…", json.dumps({**gold, "unused": []}), ("mem_",))
    half = json.dumps({"words": [{"word": "TABLE"}, {"word": "SOFA"}]})
    assert sy.partial_credit(puzzle, half) == 0.5 and sy.well_formed(puzzle, half)
    assert sy.partial_credit(puzzle, "no json") == 0.0 and not sy.well_formed(puzzle, "no json")
    rewards = Rewards(partial=0.5, format=0.1)
    assert rewards.of(Verdict(False, 0.5, True)) == pytest.approx(0.35)
    assert rewards.of(Verdict(True, 1.0, True)) == pytest.approx(rewards.best) == pytest.approx(1.6)
    assert math.isnan(rewards.of(Verdict(False, float("nan"), True)))


def test_a_skill_without_a_scorer_is_refused() -> None:
    class NoScorer:
        id = "fake-unscored"

    with pytest.raises(InputError, match="has no scorer"):
        require_scorer(NoScorer(), "arena")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"group": 1}, "group must be at least 2"),
        ({"loss_type": "ppo"}, "loss_type"),
        ({"top_p": 0}, "top_p"),
        ({"kl_beta": "nan"}, "finite"),
        ({"beta": 0.1}, "unknown option"),
        ({"lr_scale": 0}, "lr_scale must be positive"),
        ({"iterations": 0}, "updates per sampled draw. must be at least 1"),
        ({"gold_weight": -1}, "gold_weight must not be negative"),
        ({"negative_weight": 1.5}, "negative_weight must be between 0 and 1"),
        ({"fresh_optimizer": "maybe"}, "fresh_optimizer must be true or false"),
    ],
)
def test_bad_arena_options_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        school_settings("arena", options)


def test_the_arena_trains_at_a_tenth_of_the_heros_learning_rate() -> None:
    """bench/arena.py: at dio-nano's SFT rate (1e-3) the arena collapsed its answers; at 1e-4 it learned."""
    assert school_learning_rate("arena", {}, 1e-3) == pytest.approx(1e-4)
    assert school_learning_rate("arena", {"lr_scale": "0.5"}, 1e-3) == pytest.approx(5e-4)
    assert school_learning_rate("scribe", {}, 1e-3) == 1e-3


def test_the_defaults_are_the_measured_positive_only_arena_on_fresh_moments() -> None:
    """bench/arena.py, BIN 3, two seeds: plain GRPO rose +5/+12 held-out points (one seed within
    the noise); on its above-mean answers alone, on new optimizer moments, +15/+14 (both beyond it)."""
    settings = school_settings("arena", {})
    assert settings["negative_weight"] == 0.0 and settings["fresh_optimizer"] is True
    plain = school_settings("arena", {"negative_weight": "1", "fresh_optimizer": "no"})
    assert plain["negative_weight"] == 1.0 and plain["fresh_optimizer"] is False


def test_dr_grpo_drops_the_std_by_default() -> None:
    assert school_settings("arena", {})["scale_rewards"] is True
    assert school_settings("arena", {"loss_type": "dr_grpo"})["scale_rewards"] is False


# ---------------------------------------------------------------- sampling


def test_top_p_keeps_the_nucleus_only() -> None:
    logits = torch.log(torch.tensor([[0.6, 0.3, 0.1]]))
    generator = torch.Generator().manual_seed(0)
    draws = {int(pick(logits, 1.0, 0.5, generator)) for _ in range(50)}
    assert draws == {0}  # the best token alone reaches 0.5
    draws = {int(pick(logits, 1.0, 0.8, generator)) for _ in range(200)}
    assert draws == {0, 1}
    assert int(pick(logits, 0.0, 1.0, None)) == 0


def test_sampling_is_batched_deterministic_and_grouped(tiny_hero: dict[str, Any], shared_realm: Path) -> None:
    from realm_tui.trainer.evaluate import generate_ids
    from realm_tui.trainer.hero import load_hero

    hero = load_hero(tiny_hero, shared_realm, hero_id="tiny", for_training=False)
    tok = hero.tokenizer
    prompts = [tok("①⓪ + ⓪① =")["input_ids"], tok("①① + ①① = please")["input_ids"]]
    common = dict(group=3, max_new_tokens=[5, 7], pad_id=int(tok.pad_token_id), stop_ids=set(), temperature=1.0)
    a = sample_ids(hero.model, prompts, **common, generator=torch.Generator().manual_seed(3))
    b = sample_ids(hero.model, prompts, **common, generator=torch.Generator().manual_seed(3))
    assert a == b and len(a.tokens) == 6
    assert [len(t) for t in a.tokens] == [5, 5, 5, 7, 7, 7]  # no stop token: each row runs to its own limit
    # Greedy through the sampler equals the evals' greedy path, row for row.
    greedy = sample_ids(hero.model, prompts, **{**common, "temperature": 0.0, "group": 1, "max_new_tokens": [5, 5]})
    ref = generate_ids(hero.model, prompts, max_new_tokens=5, pad_id=int(tok.pad_token_id), stop_ids=set())
    assert greedy.tokens == ref


def test_answer_logps_with_each_prompt_once_equal_the_full_rows(tiny_hero: dict[str, Any], shared_realm: Path) -> None:
    from realm_tui.trainer.arena_logps import answer_logps, full_row_logps
    from realm_tui.trainer.data import IGNORE, Example, collate_padded
    from realm_tui.trainer.hero import load_hero
    from realm_tui.trainer.schools import _forward

    hero = load_hero(tiny_hero, shared_realm, hero_id="tiny", for_training=True)
    model, tok = hero.model, hero.tokenizer
    model.train()
    prompts = [tok("①⓪ + ⓪① =")["input_ids"], tok("①① + ①① = please")["input_ids"]]
    answers = [[5, 6, 7], [8], [9, 10], [11, 12, 13, 14]]
    prompt_of = [0, 0, 1, 1]
    logps, mask = answer_logps(model, prompts, answers, prompt_of, pad_id=int(tok.pad_token_id), device="cpu")
    assert mask.sum(-1).tolist() == [3, 1, 2, 4]
    rows = [
        Example(tuple(prompts[p] + a), tuple([IGNORE] * len(prompts[p]) + a))
        for p, a in zip(prompt_of, answers, strict=True)
    ]
    batch = collate_padded(rows, int(tok.pad_token_id))
    full = arena.token_logps(_forward(model, batch), batch["labels"])
    for n, p in enumerate(prompt_of):
        start = len(prompts[p]) - 1
        expected = full[n, start : start + len(answers[n])]
        assert logps[n, : len(answers[n])].detach() == pytest.approx(expected.detach(), abs=1e-5)
    # The fallback from full rows (gradient checkpointing keeps no cache) gives the same layout.
    rowwise, same_mask = full_row_logps(model, prompts, answers, prompt_of, pad_id=int(tok.pad_token_id), device="cpu")
    assert torch.equal(same_mask, mask)
    assert (rowwise * mask).detach() == pytest.approx((logps * mask).detach(), abs=1e-5)
    # Gradients reach the weights through the shared prompt pass as through the full rows.
    (logps * mask).sum().backward()
    shared = [p.grad.clone() for p in model.parameters() if p.grad is not None]
    model.zero_grad()
    (rowwise * mask).sum().backward()
    plain = [p.grad for p in model.parameters() if p.grad is not None]
    assert len(shared) == len(plain)
    assert all(torch.allclose(a, b, atol=1e-4, rtol=1e-3) for a, b in zip(shared, plain, strict=True))


# ---------------------------------------------------------------- battles on the tiny hero


@pytest.fixture
def arena_job(make_job, tmp_path: Path):
    def make(**overrides: Any) -> Any:
        base = dict(
            quest_paths=(),
            quest_id="",
            curriculum=bin_curriculum(1),
            batch_size=16,
            max_length=256,
            val_fraction=0.0,
        )
        return make_job(**{**base, **overrides})

    return make


@pytest.fixture
def sft_checkpoint(arena_job, battle, tmp_path: Path) -> str:
    """A tiny hero with some BIN level 1 in it (30 SFT steps): partial rewards to learn from."""
    stopped, events = battle(arena_job(max_steps=30, learning_rate=3e-3, checkpoints_dir=str(tmp_path / "sft")))
    assert stopped.checkpoint, [e.message for e in events.of(Error)]
    return str(stopped.checkpoint)


def rewards_of(events: Any) -> list[float]:
    return [s.metrics["reward"] for s in events.of(Step)]


@pytest.mark.slow
def test_the_mean_reward_rises_on_an_easy_level(arena_job, battle, sft_checkpoint: str, tmp_path: Path) -> None:
    job = arena_job(
        school="arena",
        resume_from=sft_checkpoint,
        max_steps=70,
        checkpoints_dir=str(tmp_path / "a"),
        school_options={"problems": 8, "gold_weight": 0},  # the policy gradient alone, no SFT anchor
    )
    stopped, events = battle(job)
    assert stopped.reason == "finished", [e.message for e in events.of(Error)]
    rewards = rewards_of(events)
    assert len(rewards) == 40
    first, last = sum(rewards[:10]) / 10, sum(rewards[-10:]) / 10
    assert last > first + 0.05, rewards
    step = events.of(Step)[-1]
    assert {"reward", "solved", "accuracy", "answer_len", "signal", "problems_per_s"} <= set(step.metrics)
    assert all(math.isfinite(s.loss) for s in events.of(Step))


@pytest.mark.parametrize(
    ("iterations", "extra"),
    [
        pytest.param(1, {}, id="1"),
        pytest.param(2, {}, id="2"),
        pytest.param(1, {"fresh_optimizer": "false", "negative_weight": "1"}, id="plain-grpo"),
    ],
)
def test_arena_resume_is_exact(
    arena_job, battle, sft_checkpoint: str, tmp_path: Path, iterations: int, extra: dict[str, str]
) -> None:
    # With 2 updates per draw the stop at step 33 falls after the first update of draw 2 (steps
    # 31-32 are draw 1): the resumed battle must finish that draw from the saved replay. With a
    # fresh optimizer (the default) the arena forgets the SFT checkpoint's moments once, never its own.
    options = {"problems": 4, "iterations": iterations, **extra}
    common = dict(school="arena", resume_from=sft_checkpoint, max_steps=36, school_options=options)
    _, straight = battle(arena_job(**common, checkpoints_dir=str(tmp_path / "a")))
    stop_at = ScriptedControl({33: [Stop()]})
    first_stop, first = battle(arena_job(**common, checkpoints_dir=str(tmp_path / "b")), stop_at)
    state = torch.load(Path(first_stop.checkpoint) / "trainer_state.pt", weights_only=True)
    assert state["school"]["name"] == "arena" and state["school"]["rollouts"] == (3 if iterations == 1 else 2)
    assert ("replay" in state["school"]) == (iterations > 1)
    job = arena_job(**{**common, "resume_from": first_stop.checkpoint}, checkpoints_dir=str(tmp_path / "b"))
    _, resumed = battle(job)
    both = first.of(Step) + resumed.of(Step)
    assert [s.step for s in both] == [s.step for s in straight.of(Step)]
    assert [s.loss for s in both] == pytest.approx([s.loss for s in straight.of(Step)], abs=1e-5, rel=0)
    assert [s.metrics["reward"] for s in both] == pytest.approx(rewards_of(straight), abs=1e-6)


def test_a_draw_is_replayed_for_several_updates_with_the_clip_in_play(
    arena_job, battle, sft_checkpoint: str, tmp_path: Path
) -> None:
    options = {"problems": 4, "iterations": 3}
    job = arena_job(school="arena", resume_from=sft_checkpoint, max_steps=36, school_options=options)
    stopped, events = battle(replace(job, checkpoints_dir=str(tmp_path / "mu")))
    steps = events.of(Step)
    assert [s.step for s in steps] == list(range(31, 37)), [e.message for e in events.of(Error)]
    # Steps 31 and 34 sample (and time the sampler); 32-33 and 35-36 train on the same draw again.
    assert ["problems_per_s" in s.metrics for s in steps] == [True, False, False, True, False, False]
    assert steps[0].metrics["reward"] == steps[1].metrics["reward"] == steps[2].metrics["reward"]
    assert steps[3].metrics["reward"] == steps[4].metrics["reward"] == steps[5].metrics["reward"]
    assert all(math.isfinite(s.loss) and s.grad_norm > 0 for s in steps)


def test_a_replayed_draw_keeps_the_sampling_policys_log_probabilities() -> None:
    from realm_tui.trainer.arena_replay import Replay, Rollout

    rollout = Rollout([[1, 2]], [[3], [4]], [None, 9], torch.ones(1, 2), torch.ones(1, 2, dtype=torch.bool), 0.1)
    replay = Replay(rollout)
    assert replay.old_logps([0, 1], 4) is None  # first update: π_old is the current policy
    replay.keep([0, 1], torch.tensor([[0.0, -1.0, -2.0, 0.0], [0.0, -3.0, -4.0, -5.0]]), [3, 4])
    replay.keep([0], torch.zeros(1, 4), [3])  # a later update never overwrites π_old
    assert replay.old_logps([1, 0], 5).tolist() == [[0.0, -3.0, -4.0, -5.0, 0.0], [0.0, -1.0, -2.0, 0.0, 0.0]]
    again = Replay.from_state(replay.state())
    assert again.rollout.stopped == [None, 9] and again.uses == 1
    assert torch.equal(again.old_logps([0, 1], 4), replay.old_logps([0, 1], 4))


def test_a_fresh_optimizer_forgets_only_another_schools_moments(
    arena_job, battle, sft_checkpoint: str, tmp_path: Path
) -> None:
    def optimizer_steps(checkpoint: str) -> set[float]:
        state = torch.load(Path(checkpoint) / "trainer_state.pt", weights_only=True)
        return {float(s["step"]) for s in state["optimizer"]["state"].values()}

    assert optimizer_steps(sft_checkpoint) == {30.0}
    options = {"problems": 4, "fresh_optimizer": "true"}
    first, events = battle(arena_job(school="arena", resume_from=sft_checkpoint, max_steps=33, school_options=options))
    assert first.checkpoint, [e.message for e in events.of(Error)]
    (note,) = [e.message for e in events.of(Log) if "afresh" in e.message]
    assert "parameter states of the checkpoint's school dropped" in note
    assert optimizer_steps(first.checkpoint) == {3.0}  # 3 arena steps on new moments, not 33
    again, events = battle(
        arena_job(
            school="arena",
            resume_from=first.checkpoint,
            max_steps=35,
            school_options=options,
            checkpoints_dir=str(tmp_path / "again"),
        )
    )
    assert not [e for e in events.of(Log) if "afresh" in e.message]  # its own moments are kept
    assert again.checkpoint and optimizer_steps(again.checkpoint) == {5.0}
    plain, events = battle(
        arena_job(
            school="arena",
            resume_from=sft_checkpoint,
            max_steps=31,
            school_options={"problems": 4, "fresh_optimizer": "false"},
            checkpoints_dir=str(tmp_path / "plain"),
        )
    )
    assert not [e for e in events.of(Log) if "afresh" in e.message]
    assert plain.checkpoint and optimizer_steps(plain.checkpoint) == {31.0}


def test_with_negative_weight_zero_only_answers_above_their_groups_mean_train(arena_job) -> None:
    from realm_tui.trainer.arena_replay import Rollout
    from realm_tui.trainer.arena_school import Arena

    rewards = torch.tensor([[1.6, 0.1, 1.1, 0.2], [0.5, 0.5, 0.5, 0.5]])  # group means 0.75, 0.5
    tokens = [[5, 6]] * 8
    rollout = Rollout([[1, 2]] * 2, tokens, [9] * 8, rewards, rewards > 1, 0.1)
    rows = {}
    for weight in ("1", "0.5", "0"):
        school = Arena(arena_job(school="arena", school_options={"negative_weight": weight}), None)
        school.unwrap = lambda: torch.nn.Linear(1, 1)
        (chunk,) = school._policy_chunks(rollout, micro_batch=4)
        rows[weight] = {r: a for r, _, a in chunk["rows"]}
        assert chunk["totals"]["total_sequences"] == 8  # the step's normalisers do not change
    assert sorted(rows["1"]) == [0, 1, 2, 3]  # the second group has no signal
    assert sorted(rows["0"]) == [0, 2]  # 1.6 and 1.1: above their group's mean
    assert rows["0.5"][1] == pytest.approx(rows["1"][1] / 2) and rows["0.5"][0] == rows["1"][0]


@pytest.mark.parametrize("lora", [False, True])
def test_arena_kl_to_the_reference(arena_job, battle, sft_checkpoint: str, tmp_path: Path, lora: bool) -> None:
    extra: dict[str, Any] = {"memory_profile": LORA} if lora else {"resume_from": sft_checkpoint}
    job = arena_job(
        school="arena", max_steps=(3 if lora else 33), school_options={"kl_beta": 0.1, "problems": 4}, **extra
    )
    stopped, events = battle(replace(job, checkpoints_dir=str(tmp_path / "kl")))
    logs = "\n".join(e.message for e in events.of(Log))
    steps = events.of(Step)
    assert steps, [e.message for e in events.of(Error)] + [logs]
    assert ("adapters disabled" in logs) if lora else ("frozen copy of" in logs and sft_checkpoint in logs)
    assert steps[0].metrics["kl"] == pytest.approx(0.0, abs=1e-6)  # policy == reference at the first step
    assert all(math.isfinite(s.metrics["kl"]) for s in steps)


def test_no_signal_skips_steps_and_then_stops(arena_job, battle) -> None:
    # A fresh hero never answers BIN right; with no partial or format reward every answer scores 0.
    job = arena_job(school="arena", max_steps=3, school_options={"partial_reward": 0, "format_reward": 0})
    stopped, events = battle(job)
    skipped = [e.message for e in events.of(Log) if "skipped" in e.message]
    assert skipped and "scored the same" in skipped[0] and "no signal" in skipped[0]
    assert not events.of(Step) and stopped.checkpoint is None  # nothing trained, nothing saved
    (error,) = events.of(Error)
    assert "draws in a row gave nothing to learn" in error.message and "--school scribe" in error.message


def test_the_gold_anchor_trains_even_a_draw_without_signal(arena_job, battle) -> None:
    # A fresh hero scores 0 everywhere (no partial or format reward): without the anchor every
    # draw is skipped (the test above); with `gold_weight` the gold answers' cross-entropy trains.
    options = {"partial_reward": 0, "format_reward": 0, "gold_weight": 1.0, "problems": 4}
    stopped, events = battle(arena_job(school="arena", max_steps=4, school_options=options))
    steps = events.of(Step)
    assert [s.step for s in steps] == [1, 2, 3, 4], [e.message for e in events.of(Error)]
    assert not [e for e in events.of(Log) if "skipped" in e.message]
    assert all(s.grad_norm > 0 and s.metrics["signal"] == 0 for s in steps)
    assert steps[-1].loss < steps[0].loss  # the reported loss is the trained gold cross-entropy


def test_a_nan_reward_skips_the_step(arena_job, battle, monkeypatch: pytest.MonkeyPatch) -> None:
    from realm_tui.skills.bin import BinSkill

    def fake_broken_partial_credit(self: Any, problem: Problem, answer: str) -> float:
        return float("nan")  # a fake broken skill: its partial credit is NaN

    monkeypatch.setattr(BinSkill, "partial_credit", fake_broken_partial_credit)
    stopped, events = battle(arena_job(school="arena", max_steps=2))
    skipped = [e.message for e in events.of(Log) if "skipped" in e.message]
    assert skipped and "not finite" in skipped[0]
    assert not events.of(Step) and stopped.checkpoint is None


def test_arena_without_a_skill_or_with_one_answer_is_refused(arena_job, battle) -> None:
    _, events = battle(arena_job(school="arena", curriculum={}, quest_paths=(), max_steps=1))
    (error,) = events.of(Error)
    assert error.kind == "bad_input" and "curriculum has no skill" in error.message
    _, events = battle(arena_job(school="arena", school_options={"group": 1}, max_steps=1))
    (error,) = events.of(Error)
    assert error.kind == "bad_input" and "group must be at least 2" in error.message
    assert not [e for e in events.of(Log) if e.message.startswith("loading hero")]  # refused before loading


def test_the_answering_child_path_greedy_and_sampled(tiny_hero: dict[str, Any], shared_realm: Path) -> None:
    from realm_tui.trainer.evaluate import generate_texts
    from realm_tui.trainer.hero import load_hero
    from realm_tui.trainer.sampling import answer_texts

    hero = load_hero(tiny_hero, shared_realm, hero_id="tiny", for_training=False)
    convs = [[{"role": "user", "content": "①⓪ + ⓪① ="}], [{"role": "user", "content": "⓪① + ⓪① ="}]]
    greedy = answer_texts(hero.model, hero.tokenizer, convs, max_new_tokens=6)
    assert greedy == generate_texts(hero.model, hero.tokenizer, convs, max_new_tokens=6)
    sampled = answer_texts(hero.model, hero.tokenizer, convs, max_new_tokens=6, temperature=1.0, seed=5)
    assert sampled == answer_texts(hero.model, hero.tokenizer, convs, max_new_tokens=6, temperature=1.0, seed=5)
    assert len(sampled) == 2
