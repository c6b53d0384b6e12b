"""Wider packed rows for models whose attention is cheap, and a head that projects only labelled positions."""

from __future__ import annotations

import pytest
import torch
from peft import LoraConfig, get_peft_model
from trainer_testkit import TINY_NANO, addition_examples
from transformers import AutoModelForCausalLM, Qwen3Config, Qwen3ForCausalLM

from realm_tui.trainer import nano
from realm_tui.trainer.data import IGNORE, Example, collate_padded, make_batch, tokenize_chat
from realm_tui.trainer.pack_width import row_tokens_for
from realm_tui.trainer.runtime import keeps_logits, loss_sum

QWEN3_06B = Qwen3Config(
    hidden_size=1024,
    intermediate_size=3072,
    num_attention_heads=16,
    num_key_value_heads=8,
    head_dim=128,
    num_hidden_layers=28,
)


def test_row_width_follows_the_models_shape() -> None:
    shipped = nano.NanoSpec()
    dio = Qwen3Config(
        hidden_size=shipped.hidden_size,
        intermediate_size=shipped.intermediate_size,
        num_attention_heads=shipped.num_heads,
        num_key_value_heads=shipped.num_kv_heads,
        head_dim=shipped.head_dim,
    )
    assert row_tokens_for(dio) is None, "dio-nano keeps the default rows measured best for it"
    # 31.5 MFLOP of linears per token and layer, 8,192 FLOPs of attention per token pair: 1/8 → 480
    assert row_tokens_for(QWEN3_06B) == 480
    assert row_tokens_for(object()) is None


def _example(n: int, labelled: int) -> Example:
    ids = tuple(range(3, 3 + n))
    return Example(ids, (IGNORE,) * (n - labelled) + ids[n - labelled :])


def test_wide_rows_pack_a_cpu_step_into_one_row() -> None:
    step = [_example(n, 10) for n in (120, 60, 150, 90)]
    narrow = make_batch(step, packing=True, max_length=256, pad_id=0)
    wide = make_batch(step, packing=True, max_length=256, pad_id=0, row_tokens=480)
    assert narrow["input_ids"].shape[0] == 2
    assert wide["input_ids"].shape == (1, 420), "every token in one row, no padding"
    assert int((wide["labels"] != IGNORE).sum()) == int((narrow["labels"] != IGNORE).sum())
    longer = make_batch([_example(300, 5), _example(40, 5)], packing=True, max_length=512, pad_id=0, row_tokens=200)
    assert longer["input_ids"].shape == (2, 300), "a longer example widens its row to its own length, no more"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory):
    folder = nano.build_nano_hero(TINY_NANO, tmp_path_factory.mktemp("nano"))
    model = AutoModelForCausalLM.from_pretrained(folder, attn_implementation="sdpa", dtype=torch.float32)
    return model, nano.build_tokenizer()


def test_the_head_projects_only_labelled_positions_and_the_loss_is_unchanged(tiny) -> None:
    model, tokenizer = tiny
    exs = [tokenize_chat(ex["messages"], tokenizer, 128) for ex in addition_examples(6, seed=3)]
    batch = collate_padded(exs, tokenizer.pad_token_id)
    labelled = int((batch["labels"] != IGNORE).sum())
    rows: list[int] = []
    hook = model.lm_head.register_forward_hook(lambda _m, args, _o: rows.append(args[0].shape[0]))
    try:
        with torch.no_grad():
            summed = float(loss_sum(model, batch))
            full = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    finally:
        hook.remove()
    tiny_qwen = Qwen3ForCausalLM(Qwen3Config(hidden_size=32, intermediate_size=32, num_hidden_layers=1, vocab_size=64))
    assert keeps_logits(model) and keeps_logits(get_peft_model(tiny_qwen, LoraConfig(target_modules=["q_proj"])))
    assert rows[0] == labelled < batch["input_ids"].numel()
    reference = torch.nn.functional.cross_entropy(
        full.view(-1, full.shape[-1]), batch["labels"].view(-1), ignore_index=IGNORE, reduction="sum"
    )
    assert summed == pytest.approx(float(reference), rel=1e-5)
    assert not keeps_logits(torch.nn.Linear(2, 2))
