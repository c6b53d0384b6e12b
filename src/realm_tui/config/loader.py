"""Safe YAML loading into pydantic models, with one-line errors that name file and field.

`read_yaml` never constructs an object from a tag: the document is composed into nodes first,
every node's tag is checked against the plain YAML types, aliases are counted as if expanded
(so a "billion laughs" file is refused before it is built), and only then are the nodes turned
into dicts, lists and scalars with the safe constructor.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from pathlib import Path
from types import UnionType
from typing import Any, TypeVar, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import ErrorDetails

from realm_tui.errors import ConfigError

MAX_CONFIG_BYTES = 1_000_000
"""A config larger than this is refused unread: configs are hand-written, never megabytes."""

MAX_EXPANDED_NODES = 100_000
"""Aliases may share nodes; past this many nodes once expanded it is an alias bomb."""

MAX_DEPTH = 100
"""Configs nest a few levels; deeper than this is refused."""

_STD = "tag:yaml.org,2002:"
ALLOWED_TAGS = frozenset(
    _STD + name for name in ("null", "bool", "int", "float", "str", "seq", "map", "merge", "timestamp")
)
"""Node tags a config may use: plain YAML data. Anything else (`!!python/...`, `!custom`) is refused."""

M = TypeVar("M", bound=BaseModel)


class StrictModel(BaseModel):
    """Base for every config model: unknown keys are errors and a loaded config is frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ExactModel(StrictModel):
    """A `StrictModel` that also never coerces types.

    `"32"` is not an int and `1.5` is not an int (an int is still a valid float). YAML gives lists,
    so use `list[...]` and sub-models rather than tuples, and `Literal[...]` rather than enums.
    """

    model_config = ConfigDict(strict=True)


if hasattr(yaml, "CSafeLoader"):  # libyaml: fast, and it limits nesting in C

    class _Loader(yaml.CSafeLoader):
        """Safe loader with YAML 1.2 exponent floats (`1e-3` is a float, not a string)."""

else:  # pragma: no cover - PyYAML built without libyaml

    class _Loader(yaml.SafeLoader):  # type: ignore[no-redef]
        """Safe loader with YAML 1.2 exponent floats (`1e-3` is a float, not a string)."""


_Loader.add_implicit_resolver(
    _STD + "float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


class _Refused(ValueError):
    """A document that parses but is not acceptable as a config."""


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _where(node: yaml.Node) -> str:
    mark = node.start_mark
    return f"line {mark.line + 1}" if mark is not None else "unknown line"


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_STD) :] if tag.startswith(_STD) else tag


def _check_node(node: yaml.Node, memo: dict[int, int], active: set[int], depth: int = 0) -> int:
    """Refuse unknown tags, duplicate keys, cycles and deep nesting; return the expanded size."""
    key = id(node)
    if key in memo:
        return memo[key]
    if key in active:
        raise _Refused(f"recursive alias at {_where(node)}")
    if depth > MAX_DEPTH:
        raise _Refused(f"nesting deeper than {MAX_DEPTH} levels at {_where(node)}")
    if node.tag not in ALLOWED_TAGS:
        raise _Refused(f"YAML tag {_short_tag(node.tag)} is not allowed (at {_where(node)})")
    active.add(key)
    size = 1
    if isinstance(node, yaml.SequenceNode):
        for child in node.value:
            size += _check_node(child, memo, active, depth + 1)
    elif isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.tag != _STD + "merge":
                if k.value in seen:
                    raise _Refused(f"duplicate key {k.value!r} at {_where(k)}")
                seen.add(k.value)
            size += _check_node(k, memo, active, depth + 1) + _check_node(v, memo, active, depth + 1)
    active.discard(key)
    if size > MAX_EXPANDED_NODES:
        raise _Refused(f"more than {MAX_EXPANDED_NODES:,} values once aliases are expanded (alias bomb?)")
    memo[key] = size
    return size


def _read_text(path: Path) -> str:
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(path, "file not found") from None
    except IsADirectoryError:
        raise ConfigError(path, "is a folder, not a file") from None
    except OSError as err:
        raise ConfigError(path, f"cannot read: {err.strerror or err}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(path, f"file is larger than {MAX_CONFIG_BYTES:,} bytes; configs are hand-written")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ConfigError(path, f"not UTF-8 text (bad byte at offset {err.start})") from None


def read_yaml(path: Path) -> Any:
    """Parse one YAML file as plain data, refusing oversize files, tags and alias bombs."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ConfigError(path, "file not found") from None
    except OSError as err:
        raise ConfigError(path, f"cannot read: {err.strerror or err}") from None
    if size > MAX_CONFIG_BYTES:
        raise ConfigError(path, f"file is {size:,} bytes; configs are limited to {MAX_CONFIG_BYTES:,}")
    text = _read_text(path)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_node(node, {}, set())
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = _one_line(err.problem or str(err))
        raise ConfigError(path, f"invalid YAML at {where}{problem}") from None
    except yaml.YAMLError as err:
        raise ConfigError(path, f"invalid YAML: {_one_line(str(err))}") from None
    except _Refused as err:
        raise ConfigError(path, f"refused: {err}") from None
    except (ValueError, TypeError, OverflowError) as err:  # a bad timestamp, say
        raise ConfigError(path, f"invalid value: {_one_line(str(err))}") from None
    except RecursionError:
        raise ConfigError(path, "refused: nested too deeply") from None
    finally:
        loader.dispose()


_NAMED = re.compile(r"^([A-Za-z_][\w.]*): ")


def _field(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _unwrap(tp: Any) -> Any:
    """`X | None` -> X (the first model among a union's members)."""
    if get_origin(tp) in (Union, UnionType):
        members = [a for a in get_args(tp) if a is not type(None)]
        models = [a for a in members if isinstance(a, type) and issubclass(a, BaseModel)]
        return (models or members)[0] if (models or members) else tp
    return tp


def _keys_at(model: type[BaseModel], parent: tuple[int | str, ...]) -> list[str]:
    """The field names a model expects at `parent` (a pydantic error location), if it can tell."""
    node: Any = model
    for part in parent:
        node = _unwrap(node)
        args = get_args(node)
        if isinstance(node, type) and issubclass(node, BaseModel):
            field = node.model_fields.get(part) if isinstance(part, str) else None
            node = field.annotation if field is not None else None
        elif get_origin(node) is list and isinstance(part, int) and args:
            node = args[0]
        elif get_origin(node) is dict and isinstance(part, str) and len(args) == 2:
            node = args[1]
        else:
            return []
    node = _unwrap(node)
    return list(node.model_fields) if isinstance(node, type) and issubclass(node, BaseModel) else []


def _did_you_mean(
    key: str, loc: tuple[int | str, ...], errors: Sequence[ErrorDetails], model: type[BaseModel] | None
) -> str:
    parent = loc[:-1]
    candidates = [str(e["loc"][-1]) for e in errors if e["type"] == "missing" and tuple(e["loc"][:-1]) == parent]
    if model is not None:
        candidates += _keys_at(model, parent)
    close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def format_validation_error(err: ValidationError, model: type[BaseModel] | None = None) -> str:
    """First problem as `field: what was expected (got ...)`, plus how many more there are.

    An unknown key comes first (a misspelt key also makes a required one look missing), with the
    closest expected key when `model` is given or a missing key resembles it.
    """
    errors = sorted(err.errors(include_url=False), key=lambda e: e["type"] != "extra_forbidden")
    first = errors[0]
    loc = tuple(first["loc"])
    field = _field(loc)
    kind = first["type"]
    msg = _one_line(str(first["msg"]))
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if kind == "extra_forbidden":
        text = f"{field}: unknown key" + (_did_you_mean(str(loc[-1]), loc, errors, model) if loc else "")
    elif kind == "missing":
        text = f"{field}: required field is missing"
    elif kind == "value_error":  # our own checks; a model check may start with the field it blames
        named = _NAMED.match(msg)
        if named:
            field = f"{field}.{named[1]}" if field else named[1]
            msg = msg[named.end() :]
        text = f"{field}: {msg}" if field else msg
    else:
        shown = _one_line(repr(first.get("input")))
        if len(shown) > 60:
            shown = shown[:57] + "..."
        text = f"{field}: {msg} (got {shown})"
    if len(errors) > 1:
        text += f" (+{len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return text


def validate_data(path: Path, data: Any, model: type[M]) -> M:
    """Validate already-read YAML `data` from `path` into `model`, as `load_model` does."""
    if data is None:
        raise ConfigError(path, "file is empty")
    if not isinstance(data, dict):
        raise ConfigError(path, f"expected a mapping at the top level, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise ConfigError(path, format_validation_error(err, model)) from None


def load_model(path: Path, model: type[M]) -> M:
    """Load `path` into `model`; any problem becomes one `ConfigError` naming file and field."""
    path = Path(path)
    return validate_data(path, read_yaml(path), model)
