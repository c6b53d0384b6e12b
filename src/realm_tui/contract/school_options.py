"""School names and options of a `TrainJob`, checked without torch.

Both sides check them: the parent before a battle (`realm_tui.battle.setup`), the trainer child
when it builds the school (`realm_tui.trainer.schools`, which says what each school and option
does). The parent's own checks of a whisper teacher (folders, a hero's checkpoints in the store)
are in `realm_tui.battle.school_options`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from realm_tui.errors import InputError

SCHOOLS = ("scribe", "judge", "whisper", "arena")
ORACLE_SIGNALS = ("entropy", "confidence", "perplexity", "margin")
OPTION_KEYS: dict[str, frozenset[str]] = {
    "scribe": frozenset(),
    "judge": frozenset({"beta", "reference", "sft_weight"}),
    "whisper": frozenset({"teacher", "temperature", "alpha"}),
    "arena": frozenset(
        {
            "group",
            "problems",
            "temperature",
            "top_p",
            "max_new_tokens",
            "kl_beta",
            "clip_low",
            "clip_high",
            "loss_type",
            "scale_rewards",
            "partial_reward",
            "format_reward",
            "sft_weight",
            "lr_scale",
            "iterations",
            "gold_weight",
            "negative_weight",
            "fresh_optimizer",
        }
    ),
}
LOSS_TYPES = ("grpo", "dr_grpo", "dapo")
"""The Arena's loss normalisations: per-sequence mean (GRPO), a constant (Dr. GRPO), the
token-level mean over the group (DAPO)."""
ARENA_DEFAULTS: dict[str, Any] = {
    "group": 8,
    "problems": 32,
    "temperature": 1.0,
    "top_p": 1.0,
    "max_new_tokens": 0,
    "kl_beta": 0.0,
    "clip_low": 0.2,
    "clip_high": 0.28,
    "loss_type": "dapo",
    "scale_rewards": None,
    "partial_reward": 0.5,
    "format_reward": 0.1,
    "sft_weight": 1.0,
    "lr_scale": 0.1,
    "iterations": 1,
    "gold_weight": 0.0,
    "negative_weight": 0.0,
    "fresh_optimizer": True,
}
"""`lr_scale`: the arena trains at the hero's learning rate × this (bench/arena.py: at the SFT rate
1e-3 dio-nano's answers collapsed to ⓪⓪⓪⓪⓪ within 150 s; at 1e-4 held-out accuracy rose);
`problems` 32: at 8 a step's update rests on 2–4 groups with signal and lr 2e-4 collapsed dio-nano
(BIN 3 held-out 47 % → 21 %), at 32 it did not (docs/schools.md); `iterations` 1: a second update
per draw did not help there; `max_new_tokens` 0: each problem's expected answer length + 6 (as the evals allow);
`scale_rewards` None: divide advantages by the group's std except for dr_grpo (which drops it);
`negative_weight` 0: only the answers that scored above their group's mean train (1: plain GRPO,
whose push-down of sampled wrong answers churned dio-nano's held-out answers: BIN 3, 180 s, two
seeds, +5/+12 points against +15/+14 positive-only); `fresh_optimizer`: an arena started from
another school's checkpoint starts the optimizer's moments afresh (SFT's moments measure a
gradient ~2× the positive-only one's and shrank its steps; a resumed arena keeps its own: exact
resume). Both from bench/arena.py on two seeds (docs/schools.md)."""
ORACLE_KEYS = frozenset({"signal", "min_weight", "max_weight"})


def _check_keys(what: str, options: Mapping[str, Any], known: frozenset[str]) -> None:
    unknown = set(options) - known
    if unknown:
        listed = ", ".join(sorted(known)) or "none"
        raise InputError(None, f"{what}: unknown option(s) {', '.join(sorted(unknown))} (known: {listed})")


def _number(what: str, value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InputError(None, f"{what} must be a number, got {value!r}") from None


def oracle_settings(options: Mapping[str, Any] | None) -> tuple[str, float, float] | None:
    """(signal, min_weight, max_weight) of the Oracle enhancer, or None when it is off."""
    if options is None:
        return None
    _check_keys("oracle_loss", options, ORACLE_KEYS)
    signal = str(options.get("signal", "entropy"))
    low = _number("oracle_loss.min_weight", options.get("min_weight", 0.1))
    high = _number("oracle_loss.max_weight", options.get("max_weight", 10.0))
    if signal not in ORACLE_SIGNALS:
        raise InputError(None, f"oracle_loss.signal {signal!r}: use one of {', '.join(ORACLE_SIGNALS)}")
    if not 0 < low <= 1 <= high:
        raise InputError(None, f"oracle_loss: need 0 < min_weight ≤ 1 ≤ max_weight (got {low}, {high})")
    return signal, low, high


def school_settings(school: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """The school's options with defaults filled in; an unknown school or option is an InputError."""
    if school not in SCHOOLS:
        raise InputError(None, f"unknown school {school!r}: use one of {', '.join(SCHOOLS)}")
    _check_keys(school, options, OPTION_KEYS[school])
    if school == "judge":
        beta = _number("judge: beta", options.get("beta", 0.1))
        sft_weight = _number("judge: sft_weight", options.get("sft_weight", 1.0))
        if beta <= 0 or sft_weight < 0:
            raise InputError(
                None, f"judge: beta must be positive and sft_weight not negative (got {beta}, {sft_weight})"
            )
        reference = options.get("reference")
        return {"beta": beta, "sft_weight": sft_weight, "reference": str(reference) if reference else None}
    if school == "whisper":
        teacher = options.get("teacher")
        if not teacher:
            raise InputError(
                None, "whisper: school_options.teacher must name a teacher checkpoint, model folder or hero id"
            )
        temperature = _number("whisper: temperature", options.get("temperature", 2.0))
        alpha = _number("whisper: alpha", options.get("alpha", 0.5))
        if temperature <= 0 or not 0 <= alpha <= 1:
            raise InputError(None, f"whisper: need temperature > 0 and 0 ≤ alpha ≤ 1 (got {temperature}, {alpha})")
        return {"teacher": str(teacher), "temperature": temperature, "alpha": alpha}
    if school == "arena":
        return arena_settings(options)
    return {}


def _flag(what: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise InputError(None, f"{what} must be true or false, got {value!r}")


def arena_settings(options: Mapping[str, Any]) -> dict[str, Any]:
    """The Arena's options with defaults (ARENA_DEFAULTS); a bad value is an InputError."""
    out = dict(ARENA_DEFAULTS)
    for key in (
        "temperature",
        "top_p",
        "kl_beta",
        "clip_low",
        "clip_high",
        "partial_reward",
        "format_reward",
        "lr_scale",
        "gold_weight",
        "negative_weight",
    ):
        if key in options:
            out[key] = _number(f"arena: {key}", options[key])
    out["sft_weight"] = _number("arena: sft_weight", options.get("sft_weight", out["sft_weight"]))
    for key in ("group", "problems", "max_new_tokens", "iterations"):
        if key in options:
            value = _number(f"arena: {key}", options[key])
            if value != int(value):
                raise InputError(None, f"arena: {key} must be a whole number, got {options[key]!r}")
            out[key] = int(value)
    unfinite = [k for k, v in out.items() if isinstance(v, float) and not math.isfinite(v)]
    if unfinite:
        raise InputError(None, f"arena: {', '.join(unfinite)} must be finite numbers")
    out["loss_type"] = str(options.get("loss_type", out["loss_type"]))
    if out["loss_type"] not in LOSS_TYPES:
        raise InputError(None, f"arena: loss_type {out['loss_type']!r}: use one of {', '.join(LOSS_TYPES)}")
    if "fresh_optimizer" in options:
        out["fresh_optimizer"] = _flag("arena: fresh_optimizer", options["fresh_optimizer"])
    scale = options.get("scale_rewards")
    out["scale_rewards"] = out["loss_type"] != "dr_grpo" if scale is None else _flag("arena: scale_rewards", scale)
    if out["group"] < 2:
        raise InputError(
            None,
            f"arena: group must be at least 2 (got {out['group']}): GRPO judges each answer against the "
            "other answers to the same problem",
        )
    problems, new_tokens = out["problems"], out["max_new_tokens"]
    if out["iterations"] < 1:
        raise InputError(
            None, f"arena: iterations (updates per sampled draw) must be at least 1 (got {out['iterations']})"
        )
    if problems < 1 or new_tokens < 0:
        raise InputError(None, f"arena: need problems ≥ 1 and max_new_tokens ≥ 0 (got {problems}, {new_tokens})")
    if not (out["temperature"] > 0 and 0 < out["top_p"] <= 1):
        raise InputError(
            None, f"arena: need temperature > 0 and 0 < top_p ≤ 1 (got {out['temperature']}, {out['top_p']})"
        )
    if out["kl_beta"] < 0 or not 0 <= out["clip_low"] < 1 or out["clip_high"] < 0 or out["sft_weight"] < 0:
        raise InputError(None, "arena: need kl_beta ≥ 0, 0 ≤ clip_low < 1, clip_high ≥ 0 and sft_weight ≥ 0")
    if out["partial_reward"] < 0 or out["format_reward"] < 0 or out["gold_weight"] < 0:
        raise InputError(None, "arena: partial_reward, format_reward and gold_weight must not be negative")
    if not 0 <= out["negative_weight"] <= 1:
        raise InputError(None, f"arena: negative_weight must be between 0 and 1 (got {out['negative_weight']})")
    if out["lr_scale"] <= 0:
        raise InputError(None, f"arena: lr_scale must be positive (got {out['lr_scale']})")
    return out


def school_learning_rate(school: str, options: Mapping[str, Any], learning_rate: float) -> float:
    """The learning rate a battle in `school` trains at: the hero's, × `lr_scale` in the Arena
    (policy-gradient steps are noisier than SFT's and want a smaller rate)."""
    if school != "arena":
        return learning_rate
    return learning_rate * float(arena_settings(options)["lr_scale"])
