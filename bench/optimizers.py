"""Every optimizer this machine can run, on the same tiny dio-nano-sized battle, side by side.

    .venv/bin/python bench/optimizers.py [--steps 40] [--batch 16] [--seq-len 64] [--markdown]

Each optimizer trains in its own subprocess (so peak RSS is that optimizer's alone): a Qwen3 of
dio-nano's shape (hidden 256, 4 layers, 4 heads / 2 KV heads, head_dim 64, MLP 512, tied
2,556-token vocabulary: 3.0M parameters), fp32, the same seed and the same synthetic data (rows
that count through 64 tokens with a random start and stride, so there is something to learn),
lr 1e-3, no weight decay. Reported: optimizer steps per second (after one warm-up step), peak resident memory
of the process (`resource.getrusage`, includes Python + torch), the bytes in the optimizer's state
tensors next to what the VRAM calculator predicts for them, and the loss at the first and last
step. Steps/s on a shared machine is noisy: `--repeat N` runs every optimizer N times, interleaved,
and keeps the fastest run. What needs CUDA (galore_adamw_8bit) is listed as skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

GALORE = {"rank": 64, "update_proj_gap": 20, "scale": 0.25}
LR = 1e-3


def _counting_batches(torch: Any, n: int, batch: int, seq_len: int) -> Any:
    """`n` batches of counting rows: start a, stride d in 1..5, tokens 3 + (a + i·d) mod 64.

    Two tokens reveal the stride, after that every token is predictable: a task a tiny model
    starts learning within a few dozen steps, the same for every optimizer (seeded).
    """
    g = torch.Generator().manual_seed(7)
    start = torch.randint(0, 64, (n, batch, 1), generator=g)
    stride = torch.randint(1, 6, (n, batch, 1), generator=g)
    steps = torch.arange(seq_len).view(1, 1, seq_len)
    return 3 + (start + steps * stride) % 64


def _one(name: str, steps: int, batch: int, seq_len: int) -> dict[str, Any]:
    """Train one optimizer; runs in the child process."""
    import resource

    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    from realm_tui.armory.arch import DIO_NANO
    from realm_tui.armory.optimizers import build_optimizer, optimizer_state_bytes
    from realm_tui.armory.vram import estimate_vram

    torch.manual_seed(1234)
    a = DIO_NANO
    cfg = Qwen3Config(
        vocab_size=a.vocab_size,
        hidden_size=a.hidden_size,
        intermediate_size=a.intermediate_size,
        num_hidden_layers=a.num_layers,
        num_attention_heads=a.num_heads,
        num_key_value_heads=a.num_kv_heads,
        head_dim=a.head_dim,
        tie_word_embeddings=True,
        use_cache=False,
        attn_implementation="sdpa",
    )
    model = Qwen3ForCausalLM(cfg)
    data = _counting_batches(torch, steps + 1, batch, seq_len)
    extra = GALORE if name.startswith("galore") else {}
    notes: list[str] = []
    optimizer = build_optimizer(name, model, LR, 0.0, notes=notes, **extra)

    def step(i: int) -> float:
        loss = model(input_ids=data[i], labels=data[i]).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return float(loss)

    first = step(0)  # warm-up: creates the state
    start = time.perf_counter()
    last = first
    for i in range(1, steps + 1):
        last = step(i)
    elapsed = time.perf_counter() - start
    est = estimate_vram(
        a,
        method="galore" if name.startswith("galore") else "full",
        optimizer=name,
        precision="fp32",
        batch_size=batch,
        seq_len=seq_len,
        gradient_checkpointing=False,
        galore_rank=GALORE["rank"],
        device="cpu",
    )
    return {
        "optimizer": name,
        "steps_per_s": steps / elapsed,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "state_mib": optimizer_state_bytes(optimizer) / 2**20,
        "calc_state_mib": (est.optimizer_state + est.cpu_offload) / 2**20,
        "calc_total_mib": est.total / 2**20,
        "first_loss": first,
        "final_loss": last,
        "notes": notes,
    }


def _run_child(name: str, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--one", name, "--steps", str(args.steps), "--batch", str(args.batch)]
    cmd += ["--seq-len", str(args.seq_len)]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    if out.returncode != 0:
        tail = (out.stderr.strip().splitlines() or ["?"])[-1]
        return {"optimizer": name, "error": tail}
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seq-len", type=int, default=64)
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--repeat", type=int, default=1, help="runs per optimizer, interleaved; best steps/s kept")
    parser.add_argument("--only", nargs="*", help="optimizers to run (default: all)")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(_one(args.one, args.steps, args.batch, args.seq_len)))
        return 0

    import torch

    from realm_tui.config.common import OPTIMIZERS

    cuda = torch.cuda.is_available()
    names = args.only or list(OPTIMIZERS)
    print(
        f"dio-nano-sized Qwen3 (3.0M params), fp32, batch {args.batch} × {args.seq_len} tokens, "
        f"{args.steps} steps, lr {LR:g}, torch threads {torch.get_num_threads()}, "
        f"{'CUDA' if cuda else 'CPU'}"
    )
    results: dict[str, dict[str, Any]] = {}
    for round_ in range(args.repeat):  # interleaved, so a burst of load elsewhere hits every optimizer alike
        for name in names:
            if name == "galore_adamw_8bit" and not cuda:
                results[name] = {"optimizer": name, "skipped": "needs CUDA (GaLoreAdamW8bit.step synchronises the GPU)"}
                continue
            run = _run_child(name, args)
            best = results.get(name)
            if best is None or run.get("steps_per_s", 0) > best.get("steps_per_s", 0):
                results[name] = run
            print(f"  {name}: round {round_ + 1} {run.get('steps_per_s', 0):.2f} steps/s", file=sys.stderr)
    rows = [results[name] for name in names]
    header = ["optimizer", "steps/s", "peak RSS MiB", "state MiB", "calc state MiB", "first loss", "final loss"]
    if args.markdown:
        print("\n| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
    else:
        print("\n" + f"{header[0]:<19}" + "".join(f"{h:>15}" for h in header[1:]))
    for r in rows:
        if "steps_per_s" not in r:
            why = r.get("skipped") or f"error: {r.get('error')}"
            print(f"| {r['optimizer']} | {why} |" if args.markdown else f"{r['optimizer']:<19} {why}")
            continue
        cells = [
            f"{r['steps_per_s']:.2f}",
            f"{r['peak_rss_mib']:.0f}",
            f"{r['state_mib']:.2f}",
            f"{r['calc_state_mib']:.2f}",
            f"{r['first_loss']:.3f}",
            f"{r['final_loss']:.3f}",
        ]
        if args.markdown:
            print(f"| {r['optimizer']} | " + " | ".join(cells) + " |")
        else:
            print(f"{r['optimizer']:<19}" + "".join(f"{c:>15}" for c in cells))
    for r in rows:
        for note in r.get("notes", []):
            print(f"note ({r['optimizer']}): {note}")
    calc = next((r["calc_total_mib"] for r in rows if r.get("optimizer") == "adamw" and "calc_total_mib" in r), None)
    if calc is not None:
        print(f"calculator, whole process with adamw (CPU estimate incl. 512 MiB baseline): {calc:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
