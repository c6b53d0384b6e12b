"""School names and options of a `TrainJob`, checked without torch.

Both sides check them: the parent before a battle (`realm_tui.battle.setup`), the trainer child
when it builds the school (`realm_tui.trainer.schools`, which says what each school and option
does). The parent's own checks of a whisper teacher (folders, a hero's checkpoints in the store)
are in `realm_tui.battle.school_options`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from realm_tui.errors import InputError

SCHOOLS = ("scribe", "judge", "whisper")
ORACLE_SIGNALS = ("entropy", "confidence", "perplexity", "margin")
OPTION_KEYS: dict[str, frozenset[str]] = {
    "scribe": frozenset(),
    "judge": frozenset({"beta", "reference", "sft_weight"}),
    "whisper": frozenset({"teacher", "temperature", "alpha"}),
}
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
    return {}
