"""A real-size hero on a CPU: `realm train --no-ui` vs the Hugging Face `Trainer` with PEFT.

Builds a Qwen3-0.6B-shaped model locally (hidden 1024, 28 layers, 16 heads, 8 KV heads, head_dim
128, intermediate 3072, the real 151,936-row embedding and tied head), random weights, no
download. The tokenizer is dio-nano's (2,556 ids: the largest vocabulary a local tokenizer gives
here); the embedding keeps Qwen's 151,936 rows, so the logits and the loss cost what they cost on
the real model (ids past 2,556 are never used). Saved with `save_pretrained` in a temp folder and
given to a hero as `hf_name: <folder>`.

For LoRA (`cpu_lora`: r 16 on the 7 projections, sdpa, gradient checkpointing, AdamW) and full
fine-tuning (every weight, AdamW, sdpa, gradient checkpointing), both sides train the same
chat examples in the same order (HF's sampler is sequential over the order our data stream
draws), the same number of examples per step and steps, fp32 weights with bf16 autocast, one
process at a time, interleaved (ours, HF, ours, HF). Two quests:

* `variable`: BIN-style problems of 33-158 tokens. Ours packs a step's examples into rows (for
  this shape up to 480 tokens: one row a step, `trainer/pack_width.py`); HF pads every row to the
  longest. Target: ours >= 1.3x HF.
* `equal`: every example has the same token length (87), so packing has nothing to save and the
  two sides do the same arithmetic. Target: ours >= 0.95x HF.

Each side runs in its own process; its tokens/s is real (non-pad) tokens over the steps after the
first, and its peak RSS (VmHWM) is read while it runs. The VRAM calculator's estimate (CPU
profile: process memory) is printed beside the measured peak, priced at the largest step (ours:
logits for the labelled positions only, which is all its head projects; HF: for every position),
with the process's own RSS once the model is loaded as a separate, CPU-only line. Full fine-tuning of the 0.6 B
shape holds ~10 GiB (fp32 weights, gradients and two AdamW moments); only one side runs at a time.
HF's worker gets our child's OMP_WAIT_POLICY=PASSIVE but glibc's default malloc settings (our
child raises glibc's mmap/trim thresholds itself, `trainer/threads.py`), as a user's Trainer runs.

    python bench/real_hero.py [--steps 4] [--batch 4] [--methods lora,full] [--quests variable,equal]
    python bench/real_hero.py --quick   # smoke check: a 2-layer model of the same width, 2 steps
    python bench/real_hero.py --hero-dir /tmp/q06 ...        # build the hero once, reuse it after
    python bench/real_hero.py --hero-dir /tmp/q06 --reprice run.log   # calculator lines only
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

MAX_LENGTH = 256
QWEN3_06B = {
    "hidden_size": 1024,
    "intermediate_size": 3072,
    "num_hidden_layers": 28,
    "num_attention_heads": 16,
    "num_key_value_heads": 8,
    "head_dim": 128,
    "vocab_size": 151_936,
    "max_position_embeddings": 40_960,
    "tie_word_embeddings": True,
}
LORA = {
    "r": 16,
    "alpha": 32,
    "dropout": 0.05,
    "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
}
LR = 1e-4


def circled(n: int, width: int) -> str:
    return format(n, f"0{width}b").replace("0", "⓪").replace("1", "①")


EQUAL_WIDTH = 20
"""Operand width of the equal-length quest: 87 tokens per example, about the variable quest's mean (99)."""
SEED = 0


def examples(n: int, seed: int = 0, *, equal: bool = False) -> list[dict[str, Any]]:
    """BIN-style problems with 2–24-bit operands, an optional system line: ~25–170 tokens; `equal`:
    EQUAL_WIDTH-bit operands and no system line, so every example has the same token count."""
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    while len(out) < n:
        w = EQUAL_WIDTH if equal else rng.randint(2, 24)
        a, b = rng.randrange(2**w), rng.randrange(2**w)
        msgs = [
            {"role": "user", "content": f"add {circled(a, w)} {circled(b, w)}"},
            {"role": "assistant", "content": circled(a + b, w + 1)},
        ]
        if not equal and rng.random() < 0.5:
            msgs.insert(0, {"role": "system", "content": "You are a careful binary calculator. Answer only."})
        key = json.dumps(msgs)
        if key not in seen:  # a quest with duplicate lines is refused
            seen.add(key)
            out.append({"messages": msgs})
    return out


def build_hero(folder: Path, layers: int) -> int:
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    from realm_tui.trainer.nano import build_tokenizer

    tok = build_tokenizer()
    cfg = Qwen3Config(
        **dict(QWEN3_06B, num_hidden_layers=layers),
        use_cache=False,
        pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id,
        bos_token_id=None,
    )
    torch.manual_seed(0)
    model = Qwen3ForCausalLM(cfg)
    n = sum(p.numel() for p in model.parameters())
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return n


# ---------------------------------------------------------------- memory of a process


def vm_hwm(pid: int, field: str = "VmHWM") -> int:
    """Peak resident set (bytes) of a live process, from /proc (0 when gone); `field="VmRSS"`: now."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


# ---------------------------------------------------------------- ours: realm train --no-ui


def make_realm(root: Path, hero_folder: Path, batch: int) -> Path:
    from realm_tui.services.init_realm import init_realm

    realm, _ = init_realm(root)
    cur = yaml.safe_load((realm.configs / "curriculum.yaml").read_text())
    for skill in cur["skills"].values():
        skill["enabled"] = False  # the quest only, on both sides
    cur["quest_share"] = 1.0
    (realm.configs / "curriculum.yaml").write_text(yaml.safe_dump(cur))
    full = yaml.safe_load((realm.configs / "memory_profiles" / "cpu_lora.yaml").read_text())
    full.update({"id": "cpu_full_bench", "method": "full"})
    full.pop("lora")
    (realm.configs / "memory_profiles" / "cpu_full_bench.yaml").write_text(yaml.safe_dump(full))
    base = yaml.safe_load((realm.configs / "heroes" / "dio.yaml").read_text())
    for method, profile in (("lora", "cpu_lora"), ("full", "cpu_full_bench")):
        hero = dict(base, id=f"q06-{method}", memory_profile=profile)
        hero["model"] = {"hf_name": str(hero_folder), "size_b": 0.6}
        hero["training_defaults"] = dict(
            base["training_defaults"],
            batch_size=batch,
            gradient_accumulation=1,
            learning_rate=LR,
            warmup_steps=0,
            lr_schedule="constant",
            weight_decay=0.0,
            max_length=MAX_LENGTH,
            save_steps=10**6,
            save_minutes=10**6,
            optimizer="adamw",
            precision="bf16",
            seed=SEED,
            val_fraction=0.0,
            eval_every_steps=10**6,
        )
        (realm.configs / "heroes" / f"q06-{method}.yaml").write_text(yaml.safe_dump(hero, allow_unicode=True))
    return realm.root


def run_ours(realm: Path, method: str, quest: Path, steps: int) -> dict[str, float]:
    """Train through `realm train --no-ui --json` and stop it after the last step (the end-of-battle
    checkpoint and evals are not what is measured)."""
    cmd = [sys.executable, "-m", "realm_tui", "--home", str(realm), "train", "--no-ui", "--json"]
    cmd += ["--hero", f"q06-{method}", "--quest", str(quest), "--steps", str(steps), "--fresh"]
    errors = open(realm / "train.err", "w+")  # noqa: SIM115 - read back on failure
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errors, text=True, start_new_session=True)
    marks: list[tuple[int, float]] = []
    child, peak = 0, 0
    loaded = {"load_peak": 0, "loaded_rss": 0}
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            if not line.startswith("{"):
                continue
            event = json.loads(line)
            if event["event"] == "Hello":
                child = int(event["pid"])
                loaded = {"load_peak": vm_hwm(child), "loaded_rss": vm_hwm(child, "VmRSS")}
            if child:
                peak = max(peak, vm_hwm(child))
            if event["event"] == "Step":
                marks.append((int(event["tokens"]), time.perf_counter()))
                if event["step"] >= steps:
                    break
            if event["event"] == "Error" and event.get("fatal"):
                raise RuntimeError(event["message"])
    finally:
        if child:
            peak = max(peak, vm_hwm(child))
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    if len(marks) < 2:
        errors.seek(0)
        raise RuntimeError(f"realm train stopped early: {errors.read()[-2000:]}")
    (t0, w0), (t1, w1) = marks[0], marks[-1]
    return {"tokens": t1 - t0, "seconds": w1 - w0, "peak_rss": peak, **loaded}


# ---------------------------------------------------------------- HF Trainer + PEFT (a worker process)


def hf_worker(folder: Path, quest: Path, method: str, steps: int, batch: int) -> None:
    import threading

    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import (
        AutoModelForCausalLM,
        AutoTokenizer,
        DataCollatorForSeq2Seq,
        Trainer,
        TrainerCallback,
        TrainingArguments,
    )
    from transformers.utils import logging as hf_logging

    from realm_tui.trainer.data import epoch_order, load_quest

    hf_logging.set_verbosity_error()
    peak = [0]

    def watch() -> None:
        while True:
            peak[0] = max(peak[0], vm_hwm(os.getpid()))
            time.sleep(0.5)

    threading.Thread(target=watch, daemon=True).start()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    data = load_quest([quest], tokenizer, MAX_LENGTH, seed=SEED, val_fraction=0.0)
    # The order our data stream draws (epoch 0), read sequentially: both sides train the same
    # examples in the same steps, so their padding and packing are compared on the same batches.
    order = epoch_order(len(data.train), SEED, 0)
    dataset = [{"input_ids": list(data.train[i].input_ids), "labels": list(data.train[i].labels)} for i in order]
    counted: list[int] = []
    collator = DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=-100)

    def collate(features: list[dict[str, Any]]) -> dict[str, Any]:
        out = collator(features)
        counted.append(int(out["attention_mask"].sum()))
        return out

    model = AutoModelForCausalLM.from_pretrained(folder, attn_implementation="sdpa", dtype=torch.float32)
    model.config.use_cache = False
    if method == "lora":
        lora = LoraConfig(
            r=LORA["r"],
            lora_alpha=LORA["alpha"],
            lora_dropout=LORA["dropout"],
            target_modules=LORA["target_modules"],
            task_type="CAUSAL_LM",
        )
        model = get_peft_model(model, lora)
    ends: list[float] = []

    class Clock(TrainerCallback):
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            ends.append(time.perf_counter())

    args = TrainingArguments(
        output_dir=str(quest.parent / "hf-out"),
        per_device_train_batch_size=batch,
        max_steps=steps,
        learning_rate=LR,
        lr_scheduler_type="constant",
        max_grad_norm=1.0,
        bf16=True,
        use_cpu=True,
        optim="adamw_torch",
        gradient_checkpointing=True,
        gradient_checkpointing_kwargs={"use_reentrant": False},
        save_strategy="no",
        logging_strategy="no",
        report_to=[],
        disable_tqdm=True,
        dataloader_num_workers=0,
        remove_unused_columns=False,
        seed=SEED,
        train_sampling_strategy="sequential",
    )
    trainer = Trainer(model=model, args=args, train_dataset=dataset, data_collator=collate, callbacks=[Clock()])
    loaded = {"load_peak": vm_hwm(os.getpid()), "loaded_rss": vm_hwm(os.getpid(), "VmRSS")}
    trainer.train()
    peak[0] = max(peak[0], vm_hwm(os.getpid()))
    result = {"tokens": sum(counted[1:steps]), "seconds": ends[steps - 1] - ends[0], "peak_rss": peak[0], **loaded}
    print("REALM-BENCH " + json.dumps(result), flush=True)


def run_hf(folder: Path, quest: Path, method: str, steps: int, batch: int) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--worker", method, "--folder", str(folder), "--quest", str(quest)]
    cmd += ["--steps", str(steps), "--batch", str(batch)]
    env = dict(os.environ, OMP_WAIT_POLICY=os.environ.get("OMP_WAIT_POLICY", "PASSIVE"))  # as our child does
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    for line in out.stdout.splitlines():
        if line.startswith("REALM-BENCH "):
            return dict(json.loads(line.removeprefix("REALM-BENCH ")))
    raise RuntimeError(f"HF worker failed: {out.stderr[-2000:]}")


# ---------------------------------------------------------------- the calculator


def estimate(realm: Path, method: str, batch: int, seq_len: int, logit_tokens: int | None = None) -> Any:
    from realm_tui.armory.vram import estimate_for
    from realm_tui.config.realm_config import load_hero, load_memory_profile

    configs = realm / "configs"
    hero = load_hero(configs, f"q06-{method}")
    profile = load_memory_profile(configs, hero.memory_profile)
    return estimate_for(
        hero, profile, batch, seq_len, precision="amp_bf16", realm_root=realm, logit_tokens=logit_tokens
    )


def biggest_step(quests: dict[str, Path], batch: int, steps: int) -> tuple[int, int]:
    """(tokens, labelled tokens) of the largest step either side trains: the peak happens there.
    Both sides draw the epoch-0 order; ours packs a step without padding, its head projects only
    the labelled positions."""
    from realm_tui.trainer.data import epoch_order, load_quest
    from realm_tui.trainer.nano import build_tokenizer

    tokens, labelled = 0, 0
    for path in quests.values():
        data = load_quest([path], build_tokenizer(), MAX_LENGTH, seed=SEED, val_fraction=0.0)
        order = epoch_order(len(data.train), SEED, 0)
        for s in range(steps):
            step = [data.train[i] for i in order[s * batch : (s + 1) * batch]]
            tokens = max(tokens, sum(len(e) for e in step))
            labelled = max(labelled, sum(e.n_labels for e in step))
    return tokens, labelled


QUESTS = ("variable", "equal")
TARGETS = {"variable": 1.3, "equal": 0.95}


def write_quests(root: Path) -> dict[str, Path]:
    """The two quests as JSONL files; the equal one is checked to have one token length."""
    from realm_tui.trainer.data import load_quest
    from realm_tui.trainer.nano import build_tokenizer

    paths: dict[str, Path] = {}
    for name in QUESTS:
        rows = examples(400, equal=name == "equal")
        paths[name] = root / f"add-{name}.jsonl"
        paths[name].write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    data = load_quest([paths["equal"]], build_tokenizer(), MAX_LENGTH, seed=SEED, val_fraction=0.0)
    lengths = {len(e) for e in data.train}
    if len(lengths) != 1:
        raise SystemExit(f"the equal-length quest has {len(lengths)} token lengths: {sorted(lengths)}")
    return paths


def side_line(method: str, quest: str, round_no: int, side: str, got: dict[str, float], steps: int) -> str:
    gib = 1 << 30
    return (
        f"  {method} {quest} round {round_no} {side:>4}: {got['tokens'] / got['seconds']:7.1f} tok/s "
        f"({got['seconds'] / max(1, steps - 1):.1f} s/step), peak RSS {got['peak_rss'] / gib:.2f} GiB "
        f"(after loading: RSS {got['loaded_rss'] / gib:.2f}, peak so far {got['load_peak'] / gib:.2f}) "
        f"(load {os.getloadavg()[0]:.1f})"
    )


def calculator_lines(
    realm: Path, method: str, step: tuple[int, int], peaks: dict[str, float], loaded: dict[str, float]
) -> list[str]:
    """The calculator's parts beside each side's measured peak RSS; the process line is measured
    (RSS when the model is loaded: its safetensors are mapped, not yet read) beside the constant."""
    gib = 1 << 30
    # Activations priced at the largest step really trained (ours packs a step without padding):
    # the profile's batch x max_length would price padding never used. Ours projects logits for
    # the labelled positions only; HF's loss for every position.
    tokens, labelled = step
    lines: list[str] = []
    for side in ("ours", "hf"):
        est = estimate(realm, method, 1, tokens, labelled if side == "ours" else None)
        parts = est.weights + est.gradients + est.optimizer_state
        measured_parts = peaks[side] - est.overhead - est.activations
        lines += [
            f"{method} {side}: calculator (1 x {tokens} tokens, logits for "
            f"{labelled if side == 'ours' else tokens}) weights {est.weights / gib:.2f} + gradients "
            f"{est.gradients / gib:.2f} + optimizer state {est.optimizer_state / gib:.2f} = {parts / gib:.2f} GiB; "
            f"with activations {est.activations / gib:.2f} and process {est.overhead / gib:.2f}: "
            f"{est.total / gib:.2f} GiB",
            f"  {side:>4} peak RSS {peaks[side] / gib:.2f} GiB = {peaks[side] / est.total:.2f}x the total "
            f"estimate; less process and activations: {measured_parts / gib:.2f} GiB = "
            f"{measured_parts / parts:.2f}x weights + gradients + state",
            f"  {side:>4} process (CPU only; measured as RSS once loaded, weights mapped but unread): "
            f"{loaded.get(side, 0) / gib:.2f} GiB (calculator {est.overhead / gib:.2f})",
        ]
    return lines


def reprice(log: Path, realm: Path, quests: dict[str, Path], opts: argparse.Namespace) -> list[str]:
    """Calculator lines for the REALM-RAW results of an earlier run's log (same steps and batch)."""
    lines: list[str] = []
    step = biggest_step(quests, opts.batch, opts.steps)
    for line in log.read_text().splitlines():
        if line.startswith("REALM-RAW "):
            raw = json.loads(line.removeprefix("REALM-RAW "))
            lines += calculator_lines(realm, raw["method"], step, raw["peaks"], raw.get("loaded", {}))
    return lines


def bench_method(
    realm: Path, folder: Path, quests: dict[str, Path], method: str, opts: argparse.Namespace
) -> list[str]:
    """Interleaved rounds (ours, HF per quest); returns the summary lines."""
    totals = {(q, side): [0.0, 0.0] for q in quests for side in ("ours", "hf")}
    peaks = {"ours": 0.0, "hf": 0.0}
    loaded = {"ours": 0.0, "hf": 0.0}
    for round_no in range(1, opts.rounds + 1):
        for quest, path in quests.items():
            for side in ("ours", "hf"):
                if side == "ours":
                    got = run_ours(realm, method, path, opts.steps)
                else:
                    got = run_hf(folder, path, method, opts.steps, opts.batch)
                totals[quest, side][0] += got["tokens"]
                totals[quest, side][1] += got["seconds"]
                peaks[side] = max(peaks[side], got["peak_rss"])
                loaded[side] = max(loaded[side], got["loaded_rss"])
                print(side_line(method, quest, round_no, side, got, opts.steps), flush=True)
    summary: list[str] = []
    for quest in quests:
        ours = totals[quest, "ours"][0] / totals[quest, "ours"][1]
        hf = totals[quest, "hf"][0] / totals[quest, "hf"][1]
        ratio = ours / hf
        verdict = "meets" if ratio >= TARGETS[quest] else "misses"
        summary.append(
            f"{method} {quest}: ours {ours:.1f} tok/s | HF Trainer + PEFT {hf:.1f} tok/s | ratio {ratio:.2f}x "
            f"({verdict} the {TARGETS[quest]}x target)"
        )
    raw = {"method": method, "totals": {f"{q}/{side}": v for (q, side), v in totals.items()}, "peaks": peaks}
    print("REALM-RAW " + json.dumps(raw | {"loaded": loaded}), flush=True)  # --reprice reads it
    return summary + calculator_lines(realm, method, biggest_step(quests, opts.batch, opts.steps), peaks, loaded)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4, help="optimizer steps per run (the first is not timed)")
    parser.add_argument("--batch", type=int, default=4, help="examples per step (a CPU-sized batch)")
    parser.add_argument("--methods", default="lora,full")
    parser.add_argument("--quests", default=",".join(QUESTS), help="variable, equal or both")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="smoke check: 2 layers, 2 steps (figures mean little)")
    parser.add_argument("--hero-dir", type=Path, help="build the hero here once and reuse it in later runs")
    parser.add_argument("--reprice", type=Path, help="only the calculator lines, for an earlier run's output")
    parser.add_argument("--worker", choices=("lora", "full"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--quest", type=Path, help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.worker:
        hf_worker(opts.folder, opts.quest, opts.worker, opts.steps, opts.batch)
        return
    if opts.quick:
        opts.steps, opts.rounds = 2, 1
    layers = 2 if opts.quick else QWEN3_06B["num_hidden_layers"]
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="realm-real-hero-") as tmp:
        root = Path(tmp)
        folder = root / "qwen3-0.6b-shaped"
        if opts.hero_dir and (opts.hero_dir / "config.json").is_file():
            folder = opts.hero_dir  # built by an earlier run with --hero-dir
            n_params = int(json.loads((folder / "n_params.json").read_text()))
        else:
            folder = opts.hero_dir or folder
            n_params = build_hero(folder, layers)
            (folder / "n_params.json").write_text(str(n_params))
        every = write_quests(root)
        quests = {q: every[q] for q in opts.quests.split(",")}
        realm = make_realm(root / "realm", folder, opts.batch)
        if opts.reprice:
            print("\n".join(reprice(opts.reprice, realm, quests, opts)))
            return
        print(
            f"Qwen3-0.6B-shaped hero ({layers} layers), {n_params:,} parameters (vocab 151,936 rows, dio-nano's "
            f"2,556-id tokenizer), batch {opts.batch} examples/step, {opts.steps} steps (first not timed), "
            f"fp32 weights + bf16 autocast, load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
        )
        summary: list[str] = []
        for method in opts.methods.split(","):
            summary += bench_method(realm, folder, quests, method, opts)
        print("\n".join(summary))
        shutil.rmtree(realm, ignore_errors=True)
    print(f"(bench took {time.time() - started:.0f} s, load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
