"""dio-nano: deterministic build, tokenizer coverage and round trips, hero loading."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from trainer_testkit import TINY_NANO

from realm_tui.errors import InputError
from realm_tui.trainer import nano
from realm_tui.trainer.hero import load_hero


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_seed_gives_byte_identical_hero(tmp_path: Path) -> None:
    a = nano.build_nano_hero(TINY_NANO, tmp_path / "a")
    b = nano.build_nano_hero(TINY_NANO, tmp_path / "b")
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        assert sha(a / name) == sha(b / name), name
    c = nano.build_nano_hero({**TINY_NANO, "seed": 8}, tmp_path / "c")
    assert sha(a / "model.safetensors") != sha(c / "model.safetensors")


def test_default_spec_is_the_shipped_hero() -> None:
    spec = nano.NanoSpec.from_dict(None)
    assert (spec.hidden_size, spec.num_layers, spec.num_heads, spec.num_kv_heads) == (256, 4, 4, 2)
    assert (spec.head_dim, spec.intermediate_size, spec.max_position_embeddings, spec.seed) == (64, 512, 1024, 1234)


@pytest.mark.parametrize(
    "text",
    [
        "⓪①①⓪",
        "🐉🔥",
        "SYL-LA-BLE",
        "⑳ ㉑ ㊿ ❶ ➓ ⓫",
        "👩\u200d🔬 ❤️ ✓ ✗ → ≤ × ÷",
        "한국어 𝔘 é\tend\n",
        '<0x41> {"a": [1]}',
    ],
)
def test_tokenizer_round_trips_skill_text(text: str) -> None:
    tok = nano.build_tokenizer()
    ids = tok.encode(text, add_special_tokens=False)
    assert tok.decode(ids) == text


def test_skill_characters_have_their_own_tokens() -> None:
    tok = nano.build_tokenizer()
    for ch in "⓪①②⑩⑳ 🐉🔥 SYL-LA-BLE":
        ids = tok.encode(ch, add_special_tokens=False)
        assert len(ids) == 1, ch
    # Anything else falls back to bytes: never an unknown token.
    ids = tok.encode("𝔘", add_special_tokens=False)
    assert tok.convert_ids_to_tokens(ids) == ["<0xF0>", "<0x9D>", "<0x94>", "<0x98>"]


def test_specials_and_chat_template() -> None:
    tok = nano.build_tokenizer()
    assert tok.pad_token == "<|endoftext|>" and tok.eos_token == "<|im_end|>"
    messages = [{"role": "user", "content": "①+①"}, {"role": "assistant", "content": "①⓪"}]
    text = tok.apply_chat_template(messages, tokenize=False)
    assert text == "<|im_start|>user\n①+①<|im_end|>\n<|im_start|>assistant\n①⓪<|im_end|>\n"
    prompt = tok.apply_chat_template(messages[:1], tokenize=False, add_generation_prompt=True)
    assert prompt.endswith("<|im_end|>\n<|im_start|>assistant\n")
    ids = tok.encode("<|im_start|>", add_special_tokens=False)
    assert ids == [tok.convert_tokens_to_ids("<|im_start|>")]


def test_load_hero_builds_once_and_loads_back(tmp_path: Path, tiny_hero: dict[str, Any]) -> None:
    hero = load_hero(tiny_hero, tmp_path)
    base = tmp_path / "saves" / "heroes" / "tiny" / "base"
    assert (base / "model.safetensors").is_file()
    assert not list(base.parent.glob(".tmp-*"))
    assert hero.info["source"] == "nano" and hero.info["attn_implementation"] == "sdpa"
    assert hero.model.config.use_cache is False and hero.model.training
    assert 100_000 < hero.info["parameters"] < 1_000_000
    stamp = (base / "model.safetensors").stat().st_mtime_ns
    load_hero(tiny_hero, tmp_path, for_training=False)
    assert (base / "model.safetensors").stat().st_mtime_ns == stamp

    changed = {"id": "tiny", "model": {"builder": "nano", "nano": {**TINY_NANO, "hidden_size": 32}}}
    with pytest.raises(InputError, match="delete this folder"):
        load_hero(changed, tmp_path)


def test_missing_hub_weights_say_how_to_provide_them(tmp_path: Path) -> None:
    hero = {"id": "dio", "model": {"hf_name": "Qwen/Qwen3-0.6B"}}
    with pytest.raises(InputError) as err:
        load_hero(hero, tmp_path)
    message = str(err.value)
    assert "huggingface-cli download Qwen/Qwen3-0.6B --local-dir" in message and "hf_name" in message


def test_memory_profile_picks_the_method(tmp_path: Path, tiny_hero: dict[str, Any]) -> None:
    profile = {"method": "lora", "lora": {"r": 4, "alpha": 8.0, "target_modules": ["all-linear"]}}
    hero = load_hero(tiny_hero, tmp_path, profile=profile)
    assert hero.is_adapter and hero.info["method"] == "lora"
    assert 0 < hero.info["trainable_parameters"] < hero.info["parameters"] / 4
    assert load_hero(tiny_hero, tmp_path, profile={"method": "full"}).info["method"] == "full"
    galore = load_hero(tiny_hero, tmp_path, profile={"method": "galore"})  # full weights; the optimizer projects
    assert galore.info["trainable_parameters"] == galore.info["parameters"] and not galore.is_adapter
    refused = {
        "method qlora needs quantization.mode 4bit": {"method": "qlora"},
        "cannot use a 4bit base": {"method": "full", "quantization": {"mode": "4bit"}},
        "is method qlora, not lora": {"method": "lora", "quantization": {"mode": "4bit"}},
        "unknown training method 'dora'": {"method": "dora"},
    }
    for message, profile in refused.items():
        with pytest.raises(InputError, match=message):
            load_hero(tiny_hero, tmp_path, profile=profile)


def test_byte_only_vocab_and_bad_specs(tmp_path: Path) -> None:
    folder = nano.build_nano_hero({**TINY_NANO, "vocab": "bytes"}, tmp_path / "bytes")
    tok = nano.build_tokenizer("bytes")
    assert len(tok) == 3 + 256 and tok.decode(tok.encode("⓪🐉", add_special_tokens=False)) == "⓪🐉"
    assert nano.read_spec(folder) == nano.NanoSpec.from_dict({**TINY_NANO, "vocab": "bytes"})
    with pytest.raises(InputError, match="vocab"):
        load_hero({"id": "odd", "model": {"builder": "nano", "nano": {"vocab": "words"}}}, tmp_path)
