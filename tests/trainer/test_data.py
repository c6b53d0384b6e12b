"""Chat data: assistant-only labels, deterministic order and split, packing isolation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from trainer_testkit import TINY_NANO, addition_examples, write_jsonl

from realm_tui.errors import InputError
from realm_tui.trainer import nano
from realm_tui.trainer.data import (
    IGNORE,
    ChatFormat,
    DataPosition,
    DataStream,
    collate_packed,
    collate_padded,
    epoch_order,
    in_val,
    left_pad,
    load_quest,
    make_batch,
    pack,
    tokenize_chat,
)
from realm_tui.trainer.runtime import loss_sum

CONVERSATION = [
    {"role": "system", "content": "Be brief 🐉"},
    {"role": "user", "content": "①+①"},
    {"role": "assistant", "content": "①⓪"},
    {"role": "user", "content": "SYL-LA-BLE?"},
    {"role": "assistant", "content": "SYL LA BLE 🔥"},
]


@pytest.fixture(scope="module")
def tokenizer():
    return nano.build_tokenizer()


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory):
    from transformers import AutoModelForCausalLM

    folder = nano.build_nano_hero(TINY_NANO, tmp_path_factory.mktemp("nano"))
    model = AutoModelForCausalLM.from_pretrained(folder, attn_implementation="sdpa", dtype=torch.float32)
    model.config.use_cache = False
    return model.eval()


def test_only_assistant_tokens_carry_labels(tokenizer) -> None:
    ex = tokenize_chat(CONVERSATION, tokenizer, max_length=1024)
    tokens = tokenizer.convert_ids_to_tokens(list(ex.input_ids))
    # Walk the conversation token by token: labels exactly on assistant content and its <|im_end|>.
    expected: list[bool] = []
    for m in CONVERSATION:
        head = ["<|im_start|>", *m["role"], "\n"]
        body = [*tokenizer.convert_ids_to_tokens(tokenizer.encode(m["content"], add_special_tokens=False))]
        trained = m["role"] == "assistant"
        expected += [False] * len(head) + [trained] * (len(body) + 1) + [False]
    assert len(expected) == len(tokens)
    for i, (tok, want) in enumerate(zip(tokens, expected, strict=True)):
        assert (ex.labels[i] != IGNORE) == want, (i, tok)
        if want:
            assert ex.labels[i] == ex.input_ids[i]
    trained_text = tokenizer.decode([t for t in ex.labels if t != IGNORE])
    assert trained_text == "①⓪<|im_end|>SYL LA BLE 🔥<|im_end|>"

    # The same answer as the chat template's own {% generation %} mask.
    out = tokenizer.apply_chat_template(
        CONVERSATION, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
    )
    assert list(out["input_ids"]) == list(ex.input_ids)
    assert [bool(m) for m in out["assistant_masks"]] == [x != IGNORE for x in ex.labels]


def test_truncation_and_bad_lines(tokenizer, tmp_path: Path) -> None:
    ex = tokenize_chat(CONVERSATION, tokenizer, max_length=20)
    assert len(ex.input_ids) == len(ex.labels) == 20
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"messages": [{"role": "user", "content": "x"}]}) + "\n{oops\n")
    with pytest.raises(InputError, match="line 2"):
        load_quest([bad], tokenizer, 64, seed=1, val_fraction=0.0)


def test_split_and_order_are_deterministic(tokenizer, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "q.jsonl", addition_examples(200))
    a = load_quest([path], tokenizer, 128, seed=3, val_fraction=0.2)
    b = load_quest([path], tokenizer, 128, seed=3, val_fraction=0.2)
    assert a.train == b.train and a.val == b.val
    assert 20 <= len(a.val) <= 60 and len(a.train) + len(a.val) == 200
    assert epoch_order(50, 3, 0) == epoch_order(50, 3, 0) != epoch_order(50, 3, 1)

    stream = DataStream(10, seed=3)
    first = stream.take(7) + stream.take(7)  # crosses into epoch 1
    assert stream.position == DataPosition(1, 4)
    assert sorted(first[:10]) == list(range(10))
    resumed = DataStream(10, seed=3, position=DataPosition(0, 7))
    assert resumed.take(7) == first[7:]


def test_pack_fills_rows_and_restarts_positions(tokenizer) -> None:
    exs = [tokenize_chat(ex["messages"], tokenizer, 128) for ex in addition_examples(12)]
    rows = pack(exs, 96)
    assert sorted(len(e) for r in rows for e in r) == sorted(len(e) for e in exs)
    assert all(sum(len(e) for e in r) <= 96 for r in rows) and len(rows) < len(exs)
    batch = collate_packed(rows, tokenizer.pad_token_id)
    row0 = rows[0]
    starts = [sum(len(e) for e in row0[:i]) for i in range(len(row0))]
    for s, e in zip(starts, row0, strict=True):
        assert batch["position_ids"][0, s].item() == 0
        assert batch["input_ids"][0, s : s + len(e)].tolist() == list(e.input_ids)
        # Labels are shifted within the example: its last position never predicts the next example.
        assert batch["labels"][0, s + len(e) - 1].item() == IGNORE


def _row_logits(model, examples, pad_id):
    batch = collate_packed([examples], pad_id)
    with torch.no_grad():
        out = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False)
    return out.logits[0]


def test_packed_examples_do_not_attend_to_each_other(tokenizer, tiny_model) -> None:
    a, a2, b = (
        tokenize_chat(m, tokenizer, 128)
        for m in (
            [{"role": "user", "content": "①+①"}, {"role": "assistant", "content": "①⓪"}],
            [
                {"role": "user", "content": "a longer and different first example 🐉"},
                {"role": "assistant", "content": "no"},
            ],
            [{"role": "user", "content": "⓪+①"}, {"role": "assistant", "content": "⓪①"}],
        )
    )
    pad = tokenizer.pad_token_id
    alone = _row_logits(tiny_model, [b], pad)
    with_a = _row_logits(tiny_model, [a, b], pad)[len(a) :]
    with_a2 = _row_logits(tiny_model, [a2, b], pad)[len(a2) :]
    torch.testing.assert_close(with_a, alone, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(with_a2, alone, atol=1e-5, rtol=1e-5)

    # The test can see leaks: a cache (use_cache=True) turns the per-example mask off.
    batch = collate_packed([[a, b]], pad)
    with torch.no_grad():
        leaky = tiny_model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=True)
    assert not torch.allclose(leaky.logits[0, len(a) :], alone, atol=1e-4)


def test_packed_loss_equals_unpacked_loss_per_example(tokenizer, tiny_model) -> None:
    exs = [tokenize_chat(ex["messages"], tokenizer, 128) for ex in addition_examples(16, seed=5)]
    pad = tokenizer.pad_token_id
    with torch.no_grad():
        one_by_one = [float(loss_sum(tiny_model, collate_padded([e], pad))) for e in exs]
        packed = float(loss_sum(tiny_model, make_batch(exs, packing=True, max_length=128, pad_id=pad)))
        padded = float(loss_sum(tiny_model, make_batch(exs, packing=False, max_length=128, pad_id=pad)))
        # Per example, inside a packed row.
        rows = pack(exs, 128)
        batch = collate_packed(rows, pad)
        logits = tiny_model(input_ids=batch["input_ids"], position_ids=batch["position_ids"]).logits
        per_token = torch.nn.functional.cross_entropy(
            logits.transpose(1, 2), batch["labels"], ignore_index=IGNORE, reduction="none"
        )
    assert len(rows) < len(exs)
    by_example = {}
    for r, row in enumerate(rows):
        at = 0
        for e in row:
            by_example[id(e)] = float(per_token[r, at : at + len(e)].sum())
            at += len(e)
    for e, alone in zip(exs, one_by_one, strict=True):
        assert by_example[id(e)] == pytest.approx(alone, rel=1e-5, abs=1e-5)
    assert packed == pytest.approx(sum(one_by_one), rel=1e-5)
    assert padded == pytest.approx(sum(one_by_one), rel=1e-5)


def test_equal_lengths_keep_the_plain_causal_path(tokenizer) -> None:
    same = tokenize_chat([{"role": "user", "content": "ab"}, {"role": "assistant", "content": "cd"}], tokenizer, 64)
    batch = make_batch([same] * 8, packing=True, max_length=64, pad_id=tokenizer.pad_token_id)
    assert batch["input_ids"].shape == (8, len(same))  # nothing to gain from packing: no mask needed


def test_hero_chat_format_adds_a_default_system_turn(tokenizer) -> None:
    fmt = ChatFormat(default_system="Answer in circled digits.")
    messages = [{"role": "user", "content": "①+①"}, {"role": "assistant", "content": "①⓪"}]
    ex = tokenize_chat(messages, tokenizer, 256, fmt)
    text = tokenizer.decode(list(ex.input_ids))
    assert text.startswith("<|im_start|>system\nAnswer in circled digits.<|im_end|>\n<|im_start|>user\n")
    assert tokenizer.decode([t for t in ex.labels if t != IGNORE]) == "①⓪<|im_end|>"
    assert ChatFormat.from_hero({"chat": {"im_start": "<|im_start|>", "im_end": "<|im_end|>"}}) == ChatFormat()


def test_a_small_quest_still_gets_a_validation_split(tokenizer, tmp_path: Path) -> None:
    """Issue 11 point 6: a quest the hash split gives no validation line still gets one (the lowest
    hashes, deterministic), so DEF (100 / val loss) is measured instead of 0."""
    path = write_jsonl(tmp_path / "small.jsonl", addition_examples(6, seed=5))
    hashed = [in_val(line, 3, 0.05) for line in path.read_text(encoding="utf-8").splitlines()]
    assert not any(hashed), "the plain hash split holds nothing out of this quest"
    a = load_quest([path], tokenizer, 128, seed=3, val_fraction=0.05)
    b = load_quest([path], tokenizer, 128, seed=3, val_fraction=0.05)
    assert len(a.val) == 1 and len(a.train) == 5 and a.val == b.val and a.train == b.train
    assert a.val_note is not None and "held out 1 of 6" in a.val_note
    one = write_jsonl(tmp_path / "one.jsonl", addition_examples(1))
    single = load_quest([one], tokenizer, 128, seed=3, val_fraction=0.05)
    assert single.train == single.val and "only example" in (single.val_note or "")
    big = load_quest(
        [write_jsonl(tmp_path / "big.jsonl", addition_examples(200))], tokenizer, 128, seed=3, val_fraction=0.2
    )
    assert big.val_note is None  # the hash split alone, as before
    modules = load_quest([path], tokenizer, 128, seed=3, val_fraction=0.0)
    assert modules.val == [] and len(modules.train) == 6  # 0: nothing held out (modules)


def test_left_pad_right_aligns_every_row_with_its_mask() -> None:
    """The one padding of prompts for decoding (the eval, the sampler, the Arena's log-probs)."""
    ids, mask = left_pad([[5, 6, 7], [8], []], pad_id=0)
    assert ids.tolist() == [[5, 6, 7], [0, 0, 8], [0, 0, 0]]
    assert mask.tolist() == [[1, 1, 1], [0, 0, 1], [0, 0, 0]]
    assert ids.dtype == mask.dtype == torch.long
    moved, _ = left_pad([[1, 2]], pad_id=9, device=torch.device("meta"))
    assert moved.device.type == "meta"
