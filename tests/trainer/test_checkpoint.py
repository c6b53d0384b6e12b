"""Checkpoint folders: manifest verification, temp-folder cleanup, refusing broken checkpoints."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from realm_tui.contract import manifest as mf
from realm_tui.errors import InputError


def make_folder(root: Path) -> Path:
    folder = root / "checkpoint-3-20250101-1200"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.safetensors").write_bytes(b"\x00" * 100)
    (folder / "sub" / "b.txt").write_text("hello")
    mf.write_manifest(folder, {"step": 3})
    return folder


def test_manifest_lists_every_file_and_verifies(tmp_path: Path) -> None:
    folder = make_folder(tmp_path)
    manifest = json.loads((folder / mf.MANIFEST).read_text())
    assert set(manifest["files"]) == {"a.safetensors", "sub/b.txt"}
    assert manifest["files"]["a.safetensors"]["size"] == 100 and manifest["step"] == 3 and manifest["created_at"] > 0
    mf.verify_checkpoint(folder)
    assert mf.is_valid_checkpoint(folder) and mf.manifest_size(folder) == 105


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda f: (f / "a.safetensors").write_bytes(b"\x01" + b"\x00" * 99), "a.safetensors does not match"),
        (lambda f: (f / "sub" / "b.txt").write_text("hello!"), "sub/b.txt has the wrong size"),
        (lambda f: (f / "a.safetensors").unlink(), "a.safetensors is missing"),
        (lambda f: (f / mf.MANIFEST).unlink(), "manifest.json is missing"),
        (lambda f: (f / mf.MANIFEST).write_text("{not json"), "manifest.json cannot be read"),
    ],
)
def test_damaged_checkpoint_fails_verification(tmp_path: Path, damage, message: str) -> None:
    folder = make_folder(tmp_path)
    damage(folder)
    with pytest.raises(InputError, match=message) as err:
        mf.verify_checkpoint(folder)
    assert str(folder) in str(err.value)
    assert not mf.is_valid_checkpoint(folder)


def test_temp_folders_are_never_valid_and_get_cleaned(tmp_path: Path) -> None:
    good = make_folder(tmp_path)
    killed = tmp_path / ".tmp-checkpoint-9-20250101-1201-4242"
    killed.mkdir()
    (killed / "model.safetensors").write_bytes(b"half")
    assert not mf.is_valid_checkpoint(killed)
    assert mf.cleanup_temp_checkpoints(tmp_path) == [killed]
    assert not killed.exists() and mf.is_valid_checkpoint(good)
    assert mf.cleanup_temp_checkpoints(tmp_path / "absent") == []


def test_manifest_and_trainer_package_import_no_torch() -> None:
    code = "import sys, realm_tui.trainer, realm_tui.contract.manifest; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_load_checkpoint_refuses_unverified_and_broken_folders(tmp_path: Path) -> None:
    from realm_tui.trainer.checkpoint import load_checkpoint, load_weights_into

    with pytest.raises(InputError, match="manifest.json is missing"):
        load_checkpoint(tmp_path)
    folder = tmp_path / "checkpoint-1-20250101-1200"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"definitely not safetensors")
    (folder / "trainer_state.pt").write_bytes(b"nope")
    mf.write_manifest(folder, {"step": 1})
    with pytest.raises(InputError, match="trainer state cannot be read") as err:
        load_checkpoint(folder)
    assert str(folder) in str(err.value)

    import torch

    model = torch.nn.Linear(2, 2)
    model.config = type("C", (), {"tie_word_embeddings": False})()  # type: ignore[assignment]
    with pytest.raises(InputError, match="weights cannot be read") as err:
        load_weights_into(model, folder)
    assert str(folder) in str(err.value)


def test_weights_come_only_from_listed_files_inside_the_folder(tmp_path: Path) -> None:
    """Issue 13, defect 5: an unlisted index, pickle or outside shard is never followed or loaded."""
    import torch
    from safetensors.torch import save_file

    from realm_tui.trainer.checkpoint import load_weights_into

    model = torch.nn.Linear(2, 2)
    model.config = type("C", (), {"tie_word_embeddings": False})()  # type: ignore[assignment]
    outside = tmp_path / "outside.safetensors"
    save_file({"weight": torch.full((2, 2), 7.0), "bias": torch.zeros(2)}, str(outside))
    folder = tmp_path / "checkpoint-1-20250101-1200"
    folder.mkdir()
    save_file({"weight": torch.ones(2, 2), "bias": torch.zeros(2)}, str(folder / "model.safetensors"))
    mf.write_manifest(folder, {"step": 1})
    load_weights_into(model, folder)
    assert torch.equal(model.weight, torch.ones(2, 2))

    (folder / "model.safetensors.index.json").write_text(
        json.dumps({"weight_map": {"weight": "../outside.safetensors"}})
    )
    with pytest.raises(InputError, match="model.safetensors.index.json is not in manifest.json"):
        load_weights_into(model, folder)
    mf.write_manifest(folder, {"step": 1})  # even listed, the index may not lead out of the folder
    with pytest.raises(InputError, match="refused"):
        load_weights_into(model, folder)
    assert torch.equal(model.weight, torch.ones(2, 2))

    (folder / "model.safetensors.index.json").unlink()
    mf.write_manifest(folder, {"step": 1})
    (folder / "pytorch_model.bin").write_bytes(b"\x80\x04 pickle")
    with pytest.raises(InputError, match="pytorch_model.bin is not in manifest.json"):
        load_weights_into(model, folder)
