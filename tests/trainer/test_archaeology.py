"""Archaeology on real tiny checkpoints: per-layer stats and drift from the child process, the
store cache keyed by the weights' hash, a truncated safetensors named in one clear message, LoRA
adapter norms, and `realm vault drift` from the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from archaeology_kit import MOVED, two_checkpoints
from safetensors.torch import load_file

from realm_tui.errors import InputError
from realm_tui.paths import RealmPaths
from realm_tui.services.archaeology import (
    Archaeology,
    ArchaeologyFailed,
    Progress,
    drift_lines,
    run_archaeology_child,
)
from realm_tui.store import Store


class CountingRunner:
    """The real child runner, counting how often it is started."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        return run_archaeology_child(*args, **kwargs)


@pytest.fixture
def realm_pair(tmp_path: Path) -> tuple[RealmPaths, Path, Path]:
    return two_checkpoints(tmp_path / "realm")


def test_trained_layer_drifts_untouched_layers_show_zero_and_the_cache_skips_the_child(
    realm_pair: tuple[RealmPaths, Path, Path],
) -> None:
    realm, first, second = realm_pair
    runner = CountingRunner()
    heard: list[Progress] = []
    with Store.open(realm.store_file) as store:
        desk = Archaeology(realm, store, runner=runner)
        assert desk.previous("checkpoint-2") == "checkpoint-1" and desk.previous("checkpoint-1") is None
        report = desk.drift("checkpoint-2", on_progress=heard.append)
        assert runner.calls == 1 and not report.cached
        by_layer = {d.layer: d for d in report.layers}
        assert set(by_layer) == {"embed_tokens", "layers.0", "layers.1", "norm"}
        for still in ("embed_tokens", "layers.0", "norm"):
            assert by_layer[still].rel_change == 0.0 and by_layer[still].delta_norm == 0.0
            assert by_layer[still].cosine == pytest.approx(1.0)
        # layers.1 moved by exactly the one changed tensor: check against torch's own figures.
        wa, wb = load_file(str(first / "model.safetensors")), load_file(str(second / "model.safetensors"))
        in_layer = [k for k in wa if ".layers.1." in k]
        delta = torch.sqrt(sum(((wb[k] - wa[k]).double() ** 2).sum() for k in in_layer))
        norm_a = torch.sqrt(sum((wa[k].double() ** 2).sum() for k in in_layer))
        assert delta > 0 and torch.equal(wb[MOVED] != wa[MOVED], torch.ones_like(wa[MOVED], dtype=torch.bool))
        assert by_layer["layers.1"].rel_change == pytest.approx(float(delta / norm_a), rel=1e-6)
        assert by_layer["layers.1"].cosine is not None and by_layer["layers.1"].cosine < 1.0
        # stats of the newer checkpoint, per layer, against torch
        stats = {s.layer: s for s in report.stats_b.layers}
        emb = wb["model.embed_tokens.weight"].double()
        assert stats["embed_tokens"].norm == pytest.approx(float(emb.norm()), rel=1e-9)
        assert stats["embed_tokens"].mean == pytest.approx(float(emb.mean()), abs=1e-12)
        assert stats["embed_tokens"].std == pytest.approx(float(emb.std(unbiased=False)), rel=1e-6)
        near = float((emb.abs() < report.stats_b.near_zero_below).double().mean())
        assert stats["embed_tokens"].near_zero == pytest.approx(near)
        assert stats["norm"].near_zero == 0.0 and not report.stats_b.adapter
        assert any(p.total and p.done == p.total for p in heard), heard
        lines = drift_lines(report)
        assert lines[2].startswith("layers.1") and "█" in lines[2] and "█" not in lines[1]

        again = desk.drift("checkpoint-2", "checkpoint-1")
        assert runner.calls == 1 and again.cached
        assert again.layers == report.layers and again.stats_a == report.stats_a
        assert desk.stats("checkpoint-1") == report.stats_a and runner.calls == 1
    with Store.open(realm.store_file, readonly=True) as store:
        assert sorted(r.kind for r in store.archaeology.all()) == ["drift", "stats", "stats"]


def test_a_truncated_safetensors_is_named_and_nothing_else_is_affected(
    realm_pair: tuple[RealmPaths, Path, Path],
) -> None:
    realm, first, second = realm_pair
    weights = second / "model.safetensors"
    os.truncate(weights, weights.stat().st_size // 2)
    runner = CountingRunner()
    with Store.open(realm.store_file) as store:
        desk = Archaeology(realm, store, runner=runner)
        with pytest.raises(InputError) as caught:
            desk.drift("checkpoint-2")
        message = str(caught.value)
        assert "checkpoint-2" in message and "model.safetensors has the wrong size" in message, message
        assert runner.calls == 0 and len(store.archaeology) == 0
        # the sound checkpoint still answers; the ledger keeps both records
        assert desk.stats("checkpoint-1").layers and runner.calls == 1
        assert store.ledger.get("checkpoint-2") is not None and store.ledger.get("checkpoint-1").damaged is None

    # A file truncated behind the manifest's back (no manifest to catch it): the child names it.
    (second / "manifest.json").unlink()
    with pytest.raises(ArchaeologyFailed) as failed:
        run_archaeology_child(second, first)
    assert str(failed.value).startswith(f"{weights}: cannot be read as safetensors (truncated or damaged?)")


def test_lora_adapter_stats_report_the_update_norm(tmp_path: Path) -> None:
    from peft import LoraConfig, get_peft_model
    from trainer_testkit import TINY_NANO
    from transformers import AutoModelForCausalLM

    from realm_tui.trainer import nano
    from realm_tui.trainer.entry.archaeology import examine

    base = nano.build_nano_hero(TINY_NANO, tmp_path / "base")
    model = get_peft_model(
        AutoModelForCausalLM.from_pretrained(base),
        LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], lora_dropout=0.0),
    )
    with torch.no_grad():  # a trained adapter: B is no longer zero
        for name, p in model.named_parameters():
            if "lora_B" in name and ".layers.0." in name:
                p.copy_(torch.randn(p.shape, generator=torch.Generator().manual_seed(1)) * 0.1)
    model.save_pretrained(tmp_path / "adapter")
    raw = examine(tmp_path / "adapter")["stats"]
    assert raw["adapter"] is True
    by_layer = {r["layer"]: r for r in raw["layers"]}
    assert set(by_layer) == {"layers.0", "layers.1"}
    assert by_layer["layers.1"]["adapter_update_norm"] == 0.0  # B still zero: the adapter adds nothing
    expected = 0.0
    attention = model.base_model.model.model.layers[0].self_attn
    with torch.no_grad():
        for module in (attention.q_proj, attention.v_proj):  # scale = alpha / r = 2
            delta = module.lora_B["default"].weight @ module.lora_A["default"].weight * 2.0
            expected += float((delta.double() ** 2).sum())
    assert by_layer["layers.0"]["adapter_update_norm"] == pytest.approx(expected**0.5, rel=1e-5)


def _realm(realm: RealmPaths, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "REALM_HOME"}
    cmd = [sys.executable, "-m", "realm_tui", "--home", str(realm.root), "vault", "drift", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=240)


def test_realm_vault_drift_prints_bars_json_and_caches(realm_pair: tuple[RealmPaths, Path, Path]) -> None:
    realm, _first, second = realm_pair
    done = _realm(realm, "checkpoint-2")
    assert done.returncode == 0, done.stderr
    assert "drift checkpoint-1 → checkpoint-2 (computed)" in done.stdout
    bars = {line.split()[0]: line for line in done.stdout.splitlines()[1:5]}
    assert "█" in bars["layers.1"] and "█" not in bars["layers.0"], done.stdout
    assert "comparing checkpoint-1 → checkpoint-2" in done.stderr  # progress, plain lines into a pipe

    again = _realm(realm, "checkpoint-1", "checkpoint-2", "--json")
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["cached"] is True and report["a"] == "checkpoint-1" and report["b"] == "checkpoint-2"
    moved = {d["layer"]: d["rel_change"] for d in report["layers"]}
    assert moved["layers.1"] > 0 and moved["layers.0"] == 0.0

    unknown = _realm(realm, "checkpoint-9")
    assert unknown.returncode == 2 and "checkpoint-9 is not in the ledger" in unknown.stderr
    first_one = _realm(realm, "checkpoint-1")
    assert first_one.returncode == 2 and "checkpoint-1 is the first checkpoint" in first_one.stderr
    os.truncate(second / "model.safetensors", 100)
    broken = _realm(realm, "checkpoint-1", "checkpoint-2")
    assert broken.returncode == 2 and "model.safetensors has the wrong size" in broken.stderr
    assert broken.stderr.count("\n") <= 3, broken.stderr


LORA = {"method": "lora", "lora": {"r": 4, "alpha": 8.0, "dropout": 0.0}, "gradient_checkpointing": False}


@pytest.mark.parametrize("profile", [None, LORA], ids=["full", "lora"])
def test_checkpoints_of_a_real_battle_drift_where_training_moved_them(
    make_job: Any, battle: Any, tmp_path: Path, profile: dict[str, Any] | None
) -> None:
    """Two checkpoints of one short real battle: every trained layer moved, and nothing else did."""
    from realm_tui.contract.protocol import CheckpointSaved

    extra = {"memory_profile": profile} if profile else {}
    job = make_job(max_steps=4, save_steps=2, learning_rate=2e-2, **extra)
    _stopped, events = battle(job)
    saved = {e.step: Path(e.path) for e in events.of(CheckpointSaved)}
    assert {2, 4} <= set(saved), saved
    result = run_archaeology_child(saved[4], saved[2])
    rows = {r["layer"]: r for r in result["drift"]["layers"]}
    stats = {r["layer"]: r for r in result["stats"]["layers"]}
    assert result["stats"]["adapter"] is (profile is not None)
    if profile is None:
        assert set(rows) == {"embed_tokens", "layers.0", "layers.1", "norm"}
    else:  # only the adapter is saved, only the adapter moved; the frozen base is not in the files
        assert set(rows) == {"layers.0", "layers.1"}
        assert all(s["adapter_update_norm"] > 0 for s in stats.values()), stats
    for layer, row in rows.items():
        assert row["rel_change"] > 0 and row["cosine"] < 1.0, (layer, row)
    assert not result["drift"]["only_in_a"] and not result["drift"]["shape_changed"]


def test_realm_vault_drift_works_while_another_process_holds_the_store(
    realm_pair: tuple[RealmPaths, Path, Path],
) -> None:
    realm, _first, _second = realm_pair
    with Store.open(realm.store_file) as held:  # as a running battle or the game would
        done = _realm(realm, "checkpoint-2", "--json")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["cached"] is False
        assert len(held.archaeology) == 0  # only a cache: skipped, the holder's store untouched
