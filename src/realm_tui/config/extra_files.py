"""The rest of `configs/`: the quest board's policy, the launcher configs, and files nobody reads.

`realm validate` promises to check every file under `configs/`; the hero, profile, skill, titles
and curriculum files are checked in `realm_config`, the paths' (`domains/`, `physics/`,
`techniques/`, `paths.yaml`) in `path_book`, the others here:

- `quests.yaml` (optional): the Quest Board's policy (`config.quest_policy.QuestPolicy`, exact types,
  unknown keys refused);
- `accelerate/*.yaml`: launcher configs for `realm train --launch`: plain YAML mappings whose
  common fields have sane values (accelerate reads the rest itself);
- anything else (a misspelt name, `quests.yml`, a stray file in a config folder) is refused: a
  config the realm silently ignores is a setting the player believes in and does not get.

Dotfiles and editor leftovers (`~`, `.swp`, `.bak`, `.orig`) are skipped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import ConfigDict, Field

from realm_tui.config.loader import StrictModel, load_model
from realm_tui.config.quest_policy import POLICY_FILE, QuestPolicy
from realm_tui.config.settings import SETTINGS_FILE, Settings
from realm_tui.errors import ConfigError

QUESTS_FILE = POLICY_FILE
ACCELERATE_DIR = "accelerate"
KNOWN_FILES = ("curriculum.yaml", "titles.yaml", QUESTS_FILE, "paths.yaml", SETTINGS_FILE)
KNOWN_FOLDERS = ("heroes", "memory_profiles", "skills", ACCELERATE_DIR, "domains", "physics", "techniques")
LEFTOVER_SUFFIXES = ("~", ".swp", ".swo", ".bak", ".orig")


class AccelerateConfig(StrictModel):
    """The fields of an accelerate config file that realm's docs tell players to edit."""

    model_config = ConfigDict(extra="allow", strict=True)

    compute_environment: Literal["LOCAL_MACHINE", "AMAZON_SAGEMAKER"] = "LOCAL_MACHINE"
    distributed_type: Literal["NO", "MULTI_CPU", "MULTI_GPU", "MULTI_NPU", "MULTI_XPU", "FSDP", "DEEPSPEED", "XLA"] = (
        "NO"
    )
    num_machines: int = Field(default=1, ge=1)
    machine_rank: int = Field(default=0, ge=0)
    num_processes: int = Field(default=1, ge=1)
    main_process_port: int | None = Field(default=None, ge=1, le=65535)
    mixed_precision: Literal["no", "fp16", "bf16", "fp8"] = "no"
    use_cpu: bool = False


def is_leftover(name: str) -> bool:
    """A dotfile or an editor's backup: not a config, never read."""
    return name.startswith(".") or name.endswith(LEFTOVER_SUFFIXES)


def check_extra_files(configs_dir: Path) -> list[ConfigError]:
    """Problems in `quests.yaml`, `accelerate/` and any file the realm does not read."""
    errors: list[ConfigError] = []
    if not configs_dir.is_dir():
        return errors  # the core checks report a missing configs folder
    for entry in sorted(configs_dir.iterdir()):
        if is_leftover(entry.name):
            continue
        if entry.is_dir():
            if entry.name not in KNOWN_FOLDERS:
                errors.append(ConfigError(entry, _unknown_entry("folder", KNOWN_FOLDERS)))
            else:
                errors.extend(_stray_files(entry))
        elif entry.name not in KNOWN_FILES:
            errors.append(ConfigError(entry, _unknown_entry("file", KNOWN_FILES)))
    quests = configs_dir / QUESTS_FILE
    if quests.exists():
        try:
            load_model(quests, QuestPolicy)
        except ConfigError as err:
            errors.append(err)
    settings = configs_dir / SETTINGS_FILE
    if settings.exists():
        try:
            load_model(settings, Settings)
        except ConfigError as err:
            errors.append(err)
    accelerate = configs_dir / ACCELERATE_DIR
    if accelerate.is_dir():
        for path in sorted(accelerate.glob("*.yaml")):
            try:
                load_model(path, AccelerateConfig)
            except ConfigError as err:
                errors.append(err)
    return errors


def _unknown_entry(kind: str, known: tuple[str, ...]) -> str:
    return f"not a config {kind} the realm reads (it would be ignored); known: {', '.join(known)}"


def _stray_files(folder: Path) -> list[ConfigError]:
    """Files in a config folder that are not `*.yaml`."""
    errors = []
    for entry in sorted(folder.iterdir()):
        if is_leftover(entry.name) or entry.suffix == ".yaml":
            continue
        if entry.suffix == ".yml" and folder.name in ("heroes", "memory_profiles"):
            continue  # their loader reports it already
        what = "a folder" if entry.is_dir() else "not a .yaml file"
        errors.append(ConfigError(entry, f"{what} in {folder.name}/: it would be ignored; configs are *.yaml files"))
    return errors
