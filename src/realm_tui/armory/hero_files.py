"""A hero's files on disk: where they are, the shape its config.json gives, and whether they agree.

Pure Python (json, struct; no torch, no transformers import), so the parent can refuse a broken
hero folder before a battle and the VRAM calculator can price the real architecture.

* `hero_folder`: a local folder (absolute, `~`, or relative to the realm) or, for a hub id, the
  newest snapshot in the Hugging Face hub cache (`HF_HUB_CACHE`, `HF_HOME/hub`,
  `~/.cache/huggingface/hub`); None when neither is on disk.
* `arch_from_config`: the `ModelArch` a config.json describes.
* `hero_folder_problems`: config.json missing or unreadable, a model type the installed
  transformers does not know, safetensors weights missing or of other shapes than the config
  says, a tokenizer with more ids than the embedding has rows.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import struct
from pathlib import Path
from typing import Any

from realm_tui.armory.arch import ModelArch

CONFIG_FILE = "config.json"
TOKENIZER_FILE = "tokenizer.json"
SAFETENSORS_INDEX = "model.safetensors.index.json"
MAX_HEADER_BYTES = 100 * (1 << 20)
"""A safetensors header larger than this is treated as corrupt (real ones are a few MB at most)."""


# ---------------------------------------------------------------- finding the folder


def hub_cache_dir() -> Path:
    """The Hugging Face hub cache, by the same variables huggingface_hub reads."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "huggingface" / "hub"


def hub_snapshot(repo_id: str, cache: Path | None = None) -> Path | None:
    """The cached snapshot of `org/name` (the `main` ref, else the newest with a config.json)."""
    if repo_id.count("/") != 1:
        return None
    repo = (cache or hub_cache_dir()) / f"models--{repo_id.replace('/', '--')}"
    snapshots = repo / "snapshots"
    ref = repo / "refs" / "main"
    if ref.is_file():
        folder = snapshots / ref.read_text().strip()
        if (folder / CONFIG_FILE).is_file():
            return folder
    if not snapshots.is_dir():
        return None
    found = [d for d in snapshots.iterdir() if (d / CONFIG_FILE).is_file()]
    return max(found, key=lambda d: d.stat().st_mtime) if found else None


def local_folder(hf_name: str, realm_root: Path | None) -> Path | None:
    """`hf_name` as a folder on disk (as given, then relative to the realm), resolved; else None."""
    candidates = [Path(hf_name).expanduser()]
    if realm_root is not None:
        candidates.append(Path(realm_root) / hf_name)
    for candidate in candidates:
        if candidate.is_dir():
            return candidate.resolve()
    return None


def hero_folder(hf_name: str, realm_root: Path | None = None) -> Path | None:
    """Where the hero's files are: a local folder, else its hub cache snapshot, else None."""
    return local_folder(hf_name, realm_root) or hub_snapshot(hf_name)


def looks_like_path(hf_name: str) -> bool:
    """A name meant as a folder (not a hub id): absolute, `~`, `./`, or more than one `/`."""
    return hf_name.startswith(("/", "~", ".")) or hf_name.count("/") != 1


# ---------------------------------------------------------------- config.json → shape


def read_config(folder: Path) -> dict[str, Any]:
    """The folder's config.json as a dict; ValueError naming the problem."""
    path = Path(folder) / CONFIG_FILE
    if not path.is_file():
        raise ValueError(f"{path}: no config.json (a hero folder needs config.json, safetensors weights, a tokenizer)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: not readable JSON ({err})") from err
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object")
    text = data.get("text_config")
    return {**data, **text} if isinstance(text, dict) else data  # multimodal configs nest the LM


def arch_from_config(config: dict[str, Any], name: str) -> ModelArch:
    """The decoder shape a Qwen/Llama-style config.json gives; ValueError if a width is missing."""
    try:
        hidden = int(config["hidden_size"])
        heads = int(config["num_attention_heads"])
        return ModelArch(
            name=name,
            hidden_size=hidden,
            num_layers=int(config["num_hidden_layers"]),
            num_heads=heads,
            num_kv_heads=int(config.get("num_key_value_heads") or heads),
            head_dim=int(config.get("head_dim") or hidden // heads),
            intermediate_size=int(config["intermediate_size"]),
            vocab_size=int(config["vocab_size"]),
            tie_word_embeddings=bool(config.get("tie_word_embeddings", True)),  # transformers' default
            qk_norm=str(config.get("model_type", "")).startswith("qwen3"),
            source="config",
        )
    except KeyError as err:
        raise ValueError(f"config.json has no {err.args[0]}") from err
    except (TypeError, ValueError, ZeroDivisionError) as err:
        raise ValueError(f"config.json: {err}") from err


def arch_from_folder(folder: Path, name: str) -> ModelArch:
    arch = arch_from_config(read_config(folder), name)
    return ModelArch(**{**arch.__dict__, "source": f"config.json in {folder}"})


# ---------------------------------------------------------------- what transformers can build


def _auto_config_source() -> str | None:
    spec = importlib.util.find_spec("transformers")
    if spec is None or not spec.submodule_search_locations:
        return None
    auto = Path(next(iter(spec.submodule_search_locations))) / "models" / "auto"
    # The model-type -> config-class table lives in configuration_auto.py (transformers 4) or
    # auto_mappings.py (5.x); read whichever are there.
    texts = [
        p.read_text(encoding="utf-8")
        for p in (auto / "configuration_auto.py", auto / "auto_mappings.py")
        if p.is_file()
    ]
    return "\n".join(texts) if texts else None


def transformers_knows(model_type: str) -> bool | None:
    """Whether the installed transformers maps `model_type` to a config class (read from its
    source, without importing it: importing transformers' auto classes imports torch); None
    when that cannot be told."""
    source = _auto_config_source()
    if source is None:
        return None
    return re.search(rf'\(\s*"{re.escape(model_type)}"\s*,\s*"\w+Config"\s*\)', source) is not None


# ---------------------------------------------------------------- safetensors headers


def safetensors_shapes(path: Path) -> dict[str, list[int]]:
    """Tensor name → shape from a .safetensors file's header (8-byte length + JSON), no data read."""
    with open(path, "rb") as fh:
        raw = fh.read(8)
        if len(raw) != 8:
            raise ValueError(f"{path}: too short to be a safetensors file")
        (length,) = struct.unpack("<Q", raw)
        if length > MAX_HEADER_BYTES or length > path.stat().st_size - 8:
            raise ValueError(f"{path}: not a safetensors file (header length {length})")
        try:
            header = json.loads(fh.read(length))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ValueError(f"{path}: unreadable safetensors header ({err})") from err
    return {k: list(v["shape"]) for k, v in header.items() if k != "__metadata__"}


def weight_shapes(folder: Path) -> dict[str, list[int]]:
    """Every tensor's shape across the folder's safetensors files (sharded or not)."""
    folder = Path(folder)
    files = sorted(folder.glob("*.safetensors"))
    index = folder / SAFETENSORS_INDEX
    if index.is_file():
        try:
            names = set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values())
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise ValueError(f"{index}: unreadable ({err})") from err
        missing = sorted(n for n in names if not (folder / n).is_file())
        if missing:
            raise ValueError(f"{index} lists shard(s) that are not there: {', '.join(missing)}")
        files = [folder / n for n in sorted(names)]
    if not files:
        raise ValueError(f"{folder}: no *.safetensors weights (heroes load weights from safetensors only)")
    shapes: dict[str, list[int]] = {}
    for path in files:
        shapes.update(safetensors_shapes(path))
    return shapes


def _expected_shapes(arch: ModelArch) -> dict[str, list[int]]:
    """Name suffix → shape the config implies, for the tensors every Qwen/Llama checkpoint has."""
    h, q, kv, i = arch.hidden_size, arch.q_dim, arch.kv_dim, arch.intermediate_size
    return {
        "embed_tokens.weight": [arch.vocab_size, h],
        "self_attn.q_proj.weight": [q, h],
        "self_attn.k_proj.weight": [kv, h],
        "self_attn.v_proj.weight": [kv, h],
        "self_attn.o_proj.weight": [h, q],
        "mlp.gate_proj.weight": [i, h],
        "mlp.up_proj.weight": [i, h],
        "mlp.down_proj.weight": [h, i],
    }


def weight_problems(arch: ModelArch, shapes: dict[str, list[int]]) -> list[str]:
    """Where the weights disagree with the config (first mismatch of each kind)."""
    problems: list[str] = []
    for suffix, want in _expected_shapes(arch).items():
        for name, got in sorted(shapes.items()):
            if name.endswith(suffix) and got != want and len(got) == 2:  # 2-D only: quantized packs differ
                problems.append(f"weight {name} has shape {got}, the config implies {want}")
                break
    layers = {int(m.group(1)) for name in shapes if (m := re.search(r"\blayers\.(\d+)\.", name))}
    if layers and len(layers) != arch.num_layers:
        problems.append(f"the weights hold {len(layers)} decoder layers, config.json says {arch.num_layers}")
    if not any(name.endswith("embed_tokens.weight") for name in shapes):
        problems.append("the weights have no embed_tokens.weight (not a Qwen/Llama-style causal LM?)")
    return problems


# ---------------------------------------------------------------- tokenizer


def tokenizer_size(folder: Path) -> int | None:
    """Highest token id + 1 in tokenizer.json (vocabulary and added tokens); None without one."""
    path = Path(folder) / TOKENIZER_FILE
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    ids: list[int] = []
    vocab = (data.get("model") or {}).get("vocab")
    if isinstance(vocab, dict):
        ids += [int(v) for v in vocab.values()]
    elif isinstance(vocab, list):  # Unigram: [[piece, score], ...]
        ids.append(len(vocab) - 1)
    ids += [int(t["id"]) for t in data.get("added_tokens") or [] if "id" in t]
    return max(ids) + 1 if ids else None


def hero_folder_problems(folder: Path) -> list[str]:
    """Everything that would make the folder fail to load or train, as one line each."""
    folder = Path(folder)
    try:
        config = read_config(folder)
    except ValueError as err:
        return [str(err)]
    model_type = config.get("model_type")
    if not model_type:
        return [f"{folder / CONFIG_FILE}: no model_type"]
    if transformers_knows(str(model_type)) is False:
        return [
            f"{folder / CONFIG_FILE}: model_type {model_type!r} is unknown to the installed transformers "
            "(upgrade transformers, or use a supported model; remote code is never run)"
        ]
    try:
        arch = arch_from_config(config, str(folder))
    except ValueError as err:
        return [f"{folder / CONFIG_FILE}: {err}"]
    problems: list[str] = []
    rows = arch.vocab_size
    try:
        shapes = weight_shapes(folder)
        problems += weight_problems(arch, shapes)
        embeds = [s[0] for n, s in shapes.items() if n.endswith("embed_tokens.weight") and len(s) == 2]
        rows = min([rows, *embeds])
    except (OSError, ValueError) as err:
        problems.append(str(err))
    try:
        n_tokens = tokenizer_size(folder)
    except (OSError, ValueError, TypeError, KeyError) as err:
        problems.append(f"{folder / TOKENIZER_FILE}: unreadable ({err})")
        n_tokens = None
    if n_tokens is not None and n_tokens > rows:
        problems.append(
            f"the tokenizer has {n_tokens:,} token ids but the embedding has {rows:,} rows "
            "(resize the embedding or use the model's own tokenizer)"
        )
    if n_tokens is None and not any((folder / f).is_file() for f in (TOKENIZER_FILE, "tokenizer.model", "vocab.json")):
        problems.append(f"{folder}: no tokenizer (tokenizer.json)")
    return [p if str(folder) in p else f"{folder}: {p}" for p in problems]
