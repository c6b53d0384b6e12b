"""The Armory's settings: a form over the hero YAML, its validation, a VRAM estimate, and saving.

Changes are written back into `configs/heroes/<id>.yaml` (not kept as overrides in the store), so
the game, `realm train --no-ui` and `realm validate` all read one source of truth. The write edits
only the changed lines (comments and the portrait survive), is validated before it lands, goes
through a temp file + fsync + `os.replace`, and keeps the previous file under
`saves/backups/heroes/`. The running battle keeps its job: changes apply at the next battle.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from realm_tui.armory.knobs import Environment, assess_knobs
from realm_tui.armory.vram import GIB, estimate_for
from realm_tui.battle.preflight import OPTIMISTIC, needs_probe
from realm_tui.config.hero import HeroConfig
from realm_tui.config.loader import format_validation_error, read_yaml
from realm_tui.config.realm_config import RealmConfigs, hero_profile_problems
from realm_tui.paths import RealmPaths

TRAINING_KEYS = ("optimizer", "batch_size", "gradient_accumulation", "max_length", "learning_rate")


@dataclass(frozen=True)
class ArmoryForm:
    """What the Armory edits."""

    hero_id: str
    memory_profile: str
    optimizer: str
    batch_size: int
    gradient_accumulation: int
    max_length: int
    learning_rate: float


@dataclass(frozen=True)
class VramEstimate:
    total_gb: float
    parts: tuple[tuple[str, float], ...]
    source: str
    """Where the memory is counted: `in GPU memory` or `in CPU RAM` (no GPU: training runs on the CPU)."""


def form_for(configs: RealmConfigs, hero_id: str) -> ArmoryForm:
    hero = configs.hero(hero_id)
    td = hero.training_defaults
    return ArmoryForm(
        hero.id,
        hero.memory_profile,
        td.optimizer,
        td.batch_size,
        td.gradient_accumulation,
        td.max_length,
        td.learning_rate,
    )


def candidate(configs: RealmConfigs, form: ArmoryForm) -> dict[str, Any]:
    """The hero as it would be with the form applied (a plain dict, before validation)."""
    data = configs.hero(form.hero_id).model_dump()
    data["memory_profile"] = form.memory_profile
    data["training_defaults"] = {
        **data["training_defaults"],
        "optimizer": form.optimizer,
        "batch_size": form.batch_size,
        "gradient_accumulation": form.gradient_accumulation,
        "max_length": form.max_length,
        "learning_rate": form.learning_rate,
    }
    return data


def validate_form(configs: RealmConfigs, form: ArmoryForm) -> tuple[HeroConfig | None, list[str]]:
    """The validated hero and no problems, or None and every problem as `field: reason`."""
    try:
        hero = HeroConfig.model_validate(candidate(configs, form))
    except ValidationError as err:
        return None, [format_validation_error(err, HeroConfig)]
    profile = configs.memory_profiles.get(form.memory_profile)
    if profile is None:
        return None, [f"memory_profile: unknown profile {form.memory_profile!r}"]
    problems = hero_profile_problems(hero, profile)
    return (None, problems) if problems else (hero, [])


# ---------------------------------------------------------------- VRAM


def estimate_vram(configs: RealmConfigs, form: ArmoryForm) -> VramEstimate:
    """The Armory's live estimate from the calculator (`realm_tui.armory.vram`).

    Only for a valid form: raises `ValueError` with the problems otherwise (check `validate_form`
    first; the screen shows no estimate until the form is fixed).
    """
    hero, problems = validate_form(configs, form)
    if hero is None:
        raise ValueError("; ".join(problems))
    profile = configs.memory_profiles[form.memory_profile]
    est = estimate_for(
        hero,
        profile,
        batch_size=form.batch_size,
        seq_len=form.max_length,
        optimizer=form.optimizer,
        realm_root=configs.configs_dir.parent,
    )
    parts = [(name, n / GIB) for name, n in est.components()]
    if est.cpu_offload:
        parts.append(("(CPU offload)", est.cpu_offload / GIB))
    where = "in CPU RAM" if est.device == "cpu" else "in GPU memory"
    return VramEstimate(est.total / GIB, tuple(parts), where)


# ---------------------------------------------------------------- this machine


def needs_machine_probe(configs: RealmConfigs, form: ArmoryForm) -> bool:
    """Whether the knob check of this form depends on what this machine can do (`needs_probe`)."""
    profile = configs.memory_profiles.get(form.memory_profile)
    hero = configs.heroes.get(form.hero_id)
    if profile is None or hero is None:
        return False
    return needs_probe(profile, form.optimizer, hero.training_defaults.precision)


def refusals_here(configs: RealmConfigs, hero: HeroConfig, form: ArmoryForm, env: Environment | None) -> list[str]:
    """What the battle's knob check (`assess_knobs`) would refuse for a valid form on this machine.

    `env`: the probed machine; None when no knob depends on it (only machine-independent problems).
    """
    report = assess_knobs(
        hero,
        configs.memory_profiles[form.memory_profile],
        batch_size=form.batch_size,
        grad_accum=form.gradient_accumulation,
        seq_len=form.max_length,
        optimizer=form.optimizer,
        **(env or OPTIMISTIC).as_kwargs(),  # type: ignore[arg-type]
    )
    return report.problems


# ---------------------------------------------------------------- writing


def _yaml_scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = repr(value)
        return text if ("." in text or "e" in text) else f"{text}.0"
    return str(value)


def _set_key(lines: list[str], key: str, value: str, block: str | None) -> bool:
    """Replace `key: value` (under `block:` when given) keeping indentation and comments."""
    in_block = block is None
    indent = ""
    for i, line in enumerate(lines):
        stripped = line.strip()
        if block is not None and re.match(rf"^{re.escape(block)}:\s*(#.*)?$", line):
            in_block = True
            continue
        if (
            block is not None
            and in_block
            and stripped
            and not line.startswith((" ", "\t"))
            and not stripped.startswith("#")
        ):
            break  # the block ended before the key appeared
        match = re.match(rf"^(\s*){re.escape(key)}:(\s*)([^#\n]*?)(\s*#.*)?$", line)
        if in_block and match and (block is None) == (match.group(1) == ""):
            indent = match.group(1)
            comment = match.group(4) or ""
            lines[i] = f"{indent}{key}: {value}{comment}"
            return True
    return False


def _insert_key(lines: list[str], key: str, value: str, block: str) -> bool:
    for i, line in enumerate(lines):
        if re.match(rf"^{re.escape(block)}:\s*(#.*)?$", line):
            child = next((ln for ln in lines[i + 1 :] if ln.strip() and not ln.strip().startswith("#")), "  x")
            indent = re.match(r"^(\s*)", child).group(1) or "  "  # type: ignore[union-attr]
            lines.insert(i + 1, f"{indent}{key}: {value}")
            return True
    return False


def edited_text(text: str, form: ArmoryForm) -> str | None:
    """The hero YAML with the form's values, editing lines in place (None: cannot edit safely)."""
    lines = text.split("\n")
    if not _set_key(lines, "memory_profile", form.memory_profile, None):
        return None
    values = {k: _yaml_scalar(getattr(form, k)) for k in TRAINING_KEYS}
    for key, value in values.items():
        if not _set_key(lines, key, value, "training_defaults") and not _insert_key(
            lines, key, value, "training_defaults"
        ):
            return None
    return "\n".join(lines)


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def apply_form(realm: RealmPaths, configs: RealmConfigs, form: ArmoryForm) -> Path:
    """Validate, then write the hero YAML; returns the backup of the previous file."""
    hero, problems = validate_form(configs, form)
    if hero is None:
        raise ValueError("; ".join(problems))
    path = realm.heroes_config / f"{form.hero_id}.yaml"
    original = path.read_text(encoding="utf-8")
    text = edited_text(original, form)
    if text is None:  # a layout we cannot edit line by line: write the whole hero (comments are lost)
        text = yaml.safe_dump(candidate(configs, form), sort_keys=False, allow_unicode=True)
    # Check what we are about to write reads back as exactly the validated hero.
    probe = path.with_name(f".{path.name}.probe-{os.getpid()}")
    try:
        probe.write_text(text, encoding="utf-8")
        written = HeroConfig.model_validate(read_yaml(probe))
    finally:
        probe.unlink(missing_ok=True)
    if written != hero:
        raise ValueError(f"{path}: the edited file would not read back as the new settings; nothing was written")
    backups = realm.saves / "backups" / "heroes"
    backups.mkdir(parents=True, exist_ok=True)
    backup = backups / f"{form.hero_id}-{time.strftime('%Y%m%d-%H%M%S')}.yaml"
    shutil.copy2(path, backup)
    _atomic_write(path, text)
    return backup
