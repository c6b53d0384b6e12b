"""Export a checkpoint as a plain Hugging Face folder, merging LoRA adapters into their base.

`export_checkpoint(checkpoint_dir, out_dir, merge)`:

* a full-weights checkpoint: its HF files (config, safetensors weights, tokenizer, generation
  config) are copied; the trainer state and the manifest stay behind;
* an adapter checkpoint with `merge=False`: the adapter folder (adapter_config.json +
  adapter_model.safetensors + tokenizer), loadable with peft on top of its base;
* an adapter checkpoint with `merge=True`: the base named in `adapter_config.json`
  (`base_model_name_or_path`, or `base=` to point elsewhere) is loaded unquantized, the adapter
  applied and `merge_and_unload()`ed, and the merged model saved as safetensors with the tokenizer.

The folder is written beside `out_dir` under a temporary name and renamed when complete. The
Vault screen calls this in a child process (it imports torch).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from realm_tui.contract import manifest as mf
from realm_tui.errors import InputError

ADAPTER_CONFIG = "adapter_config.json"
LEFT_BEHIND = {mf.MANIFEST, "trainer_state.pt"}


def is_adapter_folder(folder: Path) -> bool:
    return (Path(folder) / ADAPTER_CONFIG).is_file()


def adapter_base(folder: Path) -> str:
    try:
        cfg = json.loads((Path(folder) / ADAPTER_CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise InputError(folder, f"{ADAPTER_CONFIG} cannot be read ({err})") from err
    base = cfg.get("base_model_name_or_path")
    if not base:
        raise InputError(folder, f"{ADAPTER_CONFIG} names no base model: pass the base folder")
    return str(base)


def load_model_folder(folder: Path | str, *, base: Path | str | None = None, dtype: Any = None) -> tuple[Any, Any]:
    """(model, tokenizer) from an HF folder or checkpoint; an adapter is merged into its base."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(folder, "model folder not found")
    if dtype is None:
        dtype = torch.float32
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=False)
    except (OSError, ValueError) as err:
        raise InputError(folder, f"no usable tokenizer in this folder ({err})") from err
    if not is_adapter_folder(folder):
        try:
            model = AutoModelForCausalLM.from_pretrained(
                folder, trust_remote_code=False, use_safetensors=True, dtype=dtype
            )
        except (OSError, ValueError) as err:
            raise InputError(folder, f"model weights cannot be loaded ({err})") from err
        return model, tokenizer
    from peft import PeftModel

    base_path = str(base) if base is not None else adapter_base(folder)
    if not Path(base_path).is_dir() and os.environ.get("HF_HUB_OFFLINE") == "1":
        raise InputError(folder, f"the adapter's base {base_path!r} is not a local folder (offline): pass base=")
    try:
        base_model = AutoModelForCausalLM.from_pretrained(
            base_path, trust_remote_code=False, use_safetensors=True, dtype=dtype
        )
        model = PeftModel.from_pretrained(base_model, folder).merge_and_unload()
    except (OSError, ValueError, RuntimeError) as err:
        raise InputError(folder, f"cannot merge the adapter into {base_path} ({err})") from err
    return model, tokenizer


def export_checkpoint(
    checkpoint_dir: Path | str, out_dir: Path | str, merge: bool = True, *, base: Path | str | None = None
) -> Path:
    """Write `out_dir` (which must not exist yet, or be empty) and return it."""
    src, out = Path(checkpoint_dir), Path(out_dir)
    listed: list[str] | None = None
    if (src / mf.MANIFEST).is_file():
        listed = mf.listed_files(src)  # verified: only what the manifest lists is ever copied
    elif not src.is_dir():
        raise InputError(src, "checkpoint folder not found")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(out, "already exists and is not empty: choose another folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f"{mf.TEMP_PREFIX}export-{out.name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        if merge and is_adapter_folder(src):
            model, tokenizer = load_model_folder(src, base=base, dtype="auto")
            model.save_pretrained(tmp, safe_serialization=True)
            tokenizer.save_pretrained(tmp)
        else:
            names = listed if listed is not None else [p.name for p in sorted(src.iterdir())]
            for name in names:
                path = src / name
                if "/" in name or name in LEFT_BEHIND or name.startswith(".") or path.is_symlink():
                    continue
                if listed is None and (not path.is_file() or name.endswith(mf.RISKY_SUFFIXES)):
                    continue  # a plain folder: never carry a pickle along
                shutil.copy2(path, tmp / name)
        for path in tmp.iterdir():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
        if out.exists():
            out.rmdir()
        os.rename(tmp, out)
        mf.fsync_dir(out.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


# ---------------------------------------------------------------- the child-process entry point


def _say(**fields: Any) -> None:
    sys.stdout.write(json.dumps(fields, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    """`python -m realm_tui.trainer.entry.export CHECKPOINT OUT [--no-merge] [--base FOLDER]`.

    The Vault (screen and `realm vault export`) runs this in a child so torch stays out of the
    caller. Stdout carries one JSON object per line: `{"stage": …}` while working, then
    `{"done": "<out>"}` (exit 0) or `{"error": "<one line>"}` (exit 2 for bad input, 1 otherwise).
    """
    import argparse

    parser = argparse.ArgumentParser(prog="python -m realm_tui.trainer.entry.export")
    parser.add_argument("checkpoint")
    parser.add_argument("out")
    parser.add_argument("--no-merge", dest="merge", action="store_false", help="keep an adapter as an adapter")
    parser.add_argument("--base", default=None, help="the adapter's base folder (default: from adapter_config.json)")
    args = parser.parse_args(argv)
    src = Path(args.checkpoint)
    merging = args.merge and is_adapter_folder(src)
    _say(stage="merging the adapter into its base" if merging else "copying the Hugging Face files")
    try:
        out = export_checkpoint(src, args.out, args.merge, base=args.base)
    except InputError as err:
        _say(error=" ".join(str(err).split()))
        return 2
    except Exception as err:  # one line for the caller's toast; the traceback would be noise there
        _say(error=" ".join(f"{type(err).__name__}: {err}".split()))
        return 1
    _say(done=str(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
