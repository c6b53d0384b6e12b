"""School names and options, checked without torch (the parent checks them before a battle).

See `realm_tui.trainer.schools` for what each school and option does.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from realm_tui.errors import InputError

if TYPE_CHECKING:
    from realm_tui.store import CheckpointRecord, Store

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


def check_teacher_folder(teacher: str | Path) -> Path:
    """The teacher must be a folder holding a model (config.json) or an adapter, and a tokenizer."""
    path = Path(teacher).expanduser()
    if not path.is_dir():
        raise InputError(
            path, "whisper teacher not found: name a checkpoint, a Hugging Face model folder or a hero id of this realm"
        )
    if not ((path / "config.json").is_file() or (path / "adapter_config.json").is_file()):
        raise InputError(path, "not a model folder (no config.json or adapter_config.json): whisper needs a teacher")
    if not (path / "tokenizer.json").is_file() and not (path / "tokenizer_config.json").is_file():
        raise InputError(path, "the teacher folder has no tokenizer; whisper compares it with the hero's")
    return path.resolve()


def _is_model_folder(path: Path) -> bool:
    return (path / "config.json").is_file() or (path / "adapter_config.json").is_file()


def teacher_hero(teacher: str, hero_ids: Collection[str]) -> str | None:
    """The hero id `teacher` names (`--teacher flo`), or None when it is a folder to load.

    A model folder of that name in the current folder wins over the hero (the older meaning)."""
    if teacher not in hero_ids or _is_model_folder(Path(teacher).expanduser()):
        return None
    return teacher


def hero_teacher_folder(realm_root: Path, store: Store, hero_id: str) -> Path:
    """The checkpoint folder a hero teaches from: the champion of its active (else most recent)
    campaign, else that campaign's latest checkpoint, else its newest checkpoint of any campaign;
    only folders that still verify. One InputError when the hero has none."""
    from realm_tui.contract.manifest import is_valid_checkpoint

    campaigns = store.campaigns.by_hero(hero_id)
    current = store.campaigns.active(hero_id) or (max(campaigns, key=lambda c: c.updated_at) if campaigns else None)
    records = sorted(store.ledger.all(), key=lambda r: (r.created_at, r.step), reverse=True)
    mine = [r for r in records if r.hero_id == hero_id]

    def rank(record: CheckpointRecord) -> tuple[int, int]:
        here = current is not None and record.campaign_id == current.id
        return (0 if here else 1, 0 if record.champion and here else 1)

    from realm_tui.confine import checkpoint_folder
    from realm_tui.paths import RealmPaths

    for record in sorted(mine, key=rank):  # stable: newest first inside each rank
        try:  # a ledger path leading out of the checkpoints folder is never read
            folder = checkpoint_folder(RealmPaths(realm_root), record.path)
        except InputError:
            continue
        if not record.damaged and is_valid_checkpoint(folder):
            return folder
    raise InputError(
        None,
        f"whisper: hero {hero_id!r} has no checkpoint to teach from (train it first, or pass "
        "--teacher with a checkpoint or model folder)",
    )
