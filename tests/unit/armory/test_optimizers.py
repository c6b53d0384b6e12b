"""The optimizer factory: each optimizer trains a tiny Qwen3 and survives a checkpoint round trip.

The round trip is the one the trainer does: `torch.save(state_dict)`, `torch.load(weights_only=True)`
into a fresh model and optimizer, and the resumed run must equal the straight one.
"""

from __future__ import annotations

import io
from typing import Any

import pytest

from realm_tui.armory.optimizers import optimizer_kwargs
from realm_tui.config.common import OPTIMIZERS
from realm_tui.config.memory_profile import MemoryProfile
from realm_tui.errors import InputError
from realm_tui.trainer.optimizers import build_optimizer, optimizer_state_bytes

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

pytestmark = [
    pytest.mark.filterwarnings("ignore:Paged optimizers are not supported on CPU:UserWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

CUDA = torch.cuda.is_available()
NEEDS_CUDA = {"galore_adamw_8bit": "galore-torch's GaLoreAdamW8bit.step calls torch.cuda.synchronize()"}
EXTRA: dict[str, dict[str, Any]] = {
    "galore_adamw": {"rank": 8, "update_proj_gap": 2},
    "galore_adamw_8bit": {"rank": 8, "update_proj_gap": 2},
}
LR = 3e-3


def params_for(name: str) -> Any:
    marks = [pytest.mark.skipif(not CUDA, reason=f"needs CUDA: {NEEDS_CUDA[name]}")] if name in NEEDS_CUDA else []
    return pytest.param(name, marks=marks, id=name)


ALL = [params_for(name) for name in OPTIMIZERS]


def tiny_model(seed: int = 0) -> Any:
    torch.manual_seed(seed)
    cfg = transformers.Qwen3Config(
        vocab_size=300,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        tie_word_embeddings=True,
        use_cache=False,
        attn_implementation="sdpa",
    )
    model = transformers.Qwen3ForCausalLM(cfg)
    return model.to("cuda") if CUDA else model


def batch() -> Any:
    """Sequences that repeat a random 8-token phrase: learnable in a few steps."""
    g = torch.Generator().manual_seed(1)
    phrase = torch.randint(3, 300, (4, 8), generator=g)
    data = phrase.repeat(1, 4)
    return data.to("cuda") if CUDA else data


def train(model: Any, optimizer: Any, steps: int, data: Any) -> list[float]:
    losses = []
    for _ in range(steps):
        loss = model(input_ids=data, labels=data).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(float(loss))
    return losses


def build(name: str, model: Any, notes: list[str] | None = None) -> Any:
    return build_optimizer(name, model, LR, 0.01, notes=notes, **EXTRA.get(name, {}))


@pytest.mark.parametrize("name", ALL)
def test_each_optimizer_lowers_the_loss(name: str) -> None:
    model = tiny_model()
    losses = train(model, build(name, model), 6, batch())
    assert losses[-1] < 0.8 * losses[0], losses
    assert all(torch.isfinite(p).all() for p in model.parameters())


@pytest.mark.parametrize("name", ALL)
def test_state_dict_round_trip_resumes_exactly(name: str) -> None:
    data = batch()
    straight = tiny_model()
    opt = build(name, straight)
    train(straight, opt, 4, data)

    first = tiny_model()
    opt1 = build(name, first)
    train(first, opt1, 2, data)
    buffer = io.BytesIO()
    torch.save({"model": first.state_dict(), "optimizer": opt1.state_dict()}, buffer)
    buffer.seek(0)
    saved = torch.load(buffer, map_location="cpu", weights_only=True)  # what the trainer's resume does

    resumed = tiny_model(seed=99)  # different init: everything must come from the checkpoint
    resumed.load_state_dict(saved["model"])
    opt2 = build(name, resumed)
    opt2.load_state_dict(saved["optimizer"])
    assert optimizer_state_bytes(opt2) == optimizer_state_bytes(opt1)
    train(resumed, opt2, 2, data)
    for (key, a), b in zip(straight.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b), f"{name}: {key} differs after resume"


def test_fused_adamw_falls_back_on_a_cpu() -> None:
    if CUDA:
        pytest.skip("fused AdamW is used on CUDA")
    notes: list[str] = []
    opt = build("adamw_torch_fused", tiny_model(), notes)
    assert any("foreach" in n for n in notes)
    assert all(g["foreach"] and not g["fused"] for g in opt.param_groups)


def test_weight_decay_only_on_matrices() -> None:
    opt = build("adamw", tiny_model())
    for group in opt.param_groups:
        dims = {p.ndim for p in group["params"]}
        assert group["weight_decay"] == (0.01 if dims == {2} else 0.0)


def test_eight_bit_state_is_smaller() -> None:
    model = tiny_model()
    sizes = {}
    for name in ("adamw", "adamw_8bit"):
        opt = build(name, model)
        train(model, opt, 1, batch())
        sizes[name] = optimizer_state_bytes(opt)
    numel = sum(p.numel() for p in model.parameters())
    assert sizes["adamw"] >= 8 * numel
    assert sizes["adamw_8bit"] < 0.4 * sizes["adamw"]


def test_muon_splits_parameters_and_follows_the_scheduler() -> None:
    from realm_tui.trainer.optimizers import MuonWithAdamW

    model = tiny_model()
    notes: list[str] = []
    opt = build("muon", model, notes)
    assert isinstance(opt, MuonWithAdamW) and isinstance(opt, torch.optim.Optimizer)
    muon_params = [p for g in opt.param_groups if g["use_muon"] for p in g["params"]]
    adamw_params = [p for g in opt.param_groups if not g["use_muon"] for p in g["params"]]
    assert all(p.ndim == 2 for p in muon_params)
    embed = model.get_input_embeddings().weight
    assert any(p is embed for p in adamw_params) and not any(p is embed for p in muon_params)
    assert len(muon_params) == 2 * 7  # seven projections per layer
    assert any("AdamW" in n for n in notes)

    scheduler = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 0.5**step)
    train(model, opt, 1, batch())
    scheduler.step()
    assert {g["lr"] for g in opt.muon.param_groups} == {LR / 2}
    assert {g["lr"] for g in opt.adamw.param_groups} == {LR / 2}
    # load_state_dict replaces the group dicts: the inner optimizers must follow them
    opt.load_state_dict(opt.state_dict())
    scheduler.step()
    assert {g["lr"] for g in opt.muon.param_groups} == {LR / 4}
    assert {g["lr"] for g in opt.adamw.param_groups} == {LR / 4}
    assert opt.muon.state is opt.state and opt.adamw.state is opt.state


def test_only_trainable_parameters() -> None:
    model = tiny_model()
    for name, p in model.named_parameters():
        p.requires_grad_("mlp" in name)
    opt = build("adamw", model)
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    assert {id(p) for g in opt.param_groups for p in g["params"]} == trainable
    for p in model.parameters():
        p.requires_grad_(False)
    with pytest.raises(InputError, match="no trainable"):
        build("adamw", model)


def test_bad_requests() -> None:
    model = tiny_model()
    with pytest.raises(InputError, match="unknown optimizer"):
        build_optimizer("sgd", model, LR)
    with pytest.raises(InputError, match="positive"):
        build_optimizer("adamw", model, 0.0)
    with pytest.raises(InputError, match="match no 2-D"):
        build_optimizer("galore_adamw", model, LR, target_modules=["conv"])
    if not CUDA:
        with pytest.raises(InputError, match="needs CUDA"):
            build_optimizer("galore_adamw_8bit", model, LR)


def test_kwargs_from_profiles(profiles: dict[str, MemoryProfile]) -> None:
    assert optimizer_kwargs(profiles["24gb_full_small"]) == {"betas": [0.9, 0.95], "eps": 1e-8}
    galore = optimizer_kwargs(profiles["24gb_galore"])
    assert galore == {"rank": 128, "update_proj_gap": 200, "scale": 0.25, "target_modules": ["attn", "mlp"]}
    assert optimizer_kwargs(profiles["24gb_galore"], "adamw") == {}
    model = tiny_model()
    opt = build_optimizer("adamw", model, LR, **optimizer_kwargs(profiles["24gb_full_small"]))
    assert opt.param_groups[0]["betas"] == (0.9, 0.95)
    galore_opt = build_optimizer("galore_adamw", model, LR, **{**galore, "rank": 8})
    assert galore_opt.param_groups[0]["rank"] == 8
