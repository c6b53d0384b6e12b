"""Safe YAML loading into pydantic models, with one-line errors that name file and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from realm_tui.errors import ConfigError

MAX_CONFIG_BYTES = 1_000_000
"""A config larger than this is refused unread: configs are hand-written, never megabytes."""

MAX_EXPANDED_NODES = 100_000
"""Aliases may share nodes; past this many nodes once expanded it is an alias bomb."""

M = TypeVar("M", bound=BaseModel)


class StrictModel(BaseModel):
    """Base for every config model: unknown keys are errors, values are not coerced silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _expanded_size(node: yaml.Node, memo: dict[int, int], depth: int = 0) -> int:
    if depth > 200:
        raise ValueError("nesting deeper than 200 levels")
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = 1  # guards recursive anchors; the real size is filled in below
    size = 1
    if isinstance(node, yaml.SequenceNode):
        size += sum(_expanded_size(child, memo, depth + 1) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            size += _expanded_size(k, memo, depth + 1) + _expanded_size(v, memo, depth + 1)
    memo[key] = size
    if size > MAX_EXPANDED_NODES:
        raise ValueError(f"more than {MAX_EXPANDED_NODES} nodes once aliases are expanded (alias bomb?)")
    return size


def read_yaml(path: Path) -> Any:
    """Parse one YAML file with `safe_load` semantics, refusing oversize files and alias bombs."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ConfigError(path, "file not found") from None
    except OSError as err:
        raise ConfigError(path, f"cannot read: {err.strerror}") from None
    if size > MAX_CONFIG_BYTES:
        raise ConfigError(path, f"file is {size:,} bytes; configs are limited to {MAX_CONFIG_BYTES:,}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(path, "not UTF-8 text") from None
    except OSError as err:
        raise ConfigError(path, f"cannot read: {err.strerror}") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is None:
            return None
        _expanded_size(node, {})
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = err.problem or str(err)
        if "constructor for the tag" in problem or "could not determine a constructor" in problem:
            problem = f"YAML tag not allowed ({problem.split('tag')[-1].strip()})"
        raise ConfigError(path, f"invalid YAML at {where}{problem}") from None
    except yaml.YAMLError as err:
        raise ConfigError(path, f"invalid YAML: {err}") from None
    except (ValueError, RecursionError) as err:
        raise ConfigError(path, f"refused: {err}") from None


def format_validation_error(err: ValidationError) -> str:
    """First problem as `field: what was expected (got ...)`, plus how many more there are."""
    errors = err.errors(include_url=False)
    first = errors[0]
    field = ".".join(str(p) for p in first["loc"]) or "(top level)"
    kind = first["type"]
    if kind == "extra_forbidden":
        text = f"{field}: unknown key"
    elif kind == "missing":
        text = f"{field}: required field is missing"
    else:
        got = first.get("input")
        shown = repr(got)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        text = f"{field}: {first['msg']} (got {shown})"
    if len(errors) > 1:
        text += f" (+{len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return text


def load_model(path: Path, model: type[M]) -> M:
    """Load `path` into `model`; any problem becomes one `ConfigError` naming file and field."""
    data = read_yaml(path)
    if data is None:
        raise ConfigError(path, "file is empty")
    if not isinstance(data, dict):
        raise ConfigError(path, f"expected a mapping at the top level, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise ConfigError(path, format_validation_error(err)) from None
