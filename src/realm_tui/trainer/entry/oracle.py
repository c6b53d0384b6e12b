"""The Oracle's child process: loads a hero (or a checkpoint) and streams generated tokens.

Spawned by `services.oracle.OracleClient` with the spawn context (by name, through
`contract.spawn.run_entry`), so the UI process never imports torch nor this module: torch and the
trainer's loaders are imported inside `_load`, in the child. The messages over the pipe are
`realm_tui.contract.oracle`.
"""

from __future__ import annotations

import os
import signal
import time
import traceback
from multiprocessing.connection import Connection
from typing import Any

from realm_tui.contract.oracle import (
    OracleAsk,
    OracleCancel,
    OracleChunk,
    OracleCommand,
    OracleLoad,
    OracleLoaded,
)

# ---------------------------------------------------------------- child


class _Oracle:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.model: Any = None
        self.tokenizer: Any = None
        self.stop_ids: set[int] = set()
        self.pending: list[OracleCommand] = []

    def _load(self, cmd: OracleLoad) -> OracleLoaded:
        from pathlib import Path

        import torch

        from realm_tui.trainer.checkpoint import load_weights_into
        from realm_tui.trainer.hero import load_hero

        torch.set_num_threads(max(1, cmd.threads))
        loaded = load_hero(cmd.hero, Path(cmd.realm_root), for_training=False)
        if cmd.checkpoint:
            load_weights_into(loaded.model, Path(cmd.checkpoint))
        loaded.model.eval()
        self.model, self.tokenizer = loaded.model, loaded.tokenizer
        chat = cmd.hero.get("chat") or {}
        ends = {self.tokenizer.eos_token, str(chat.get("im_end", "<|im_end|>"))}
        self.stop_ids = {i for i in (self.tokenizer.convert_tokens_to_ids(t) for t in ends if t) if isinstance(i, int)}
        template = str(getattr(self.tokenizer, "chat_template", "") or "")
        return OracleLoaded(cmd.label, template, int(loaded.info.get("parameters", 0)))

    def _cancelled(self) -> bool:
        while self.conn.poll():
            cmd = self.conn.recv()
            if isinstance(cmd, OracleCancel):
                return True
            self.pending.append(cmd)
        return False

    def _ask(self, cmd: OracleAsk) -> None:
        import torch

        if self.model is None:
            self.conn.send(OracleChunk(cmd.request_id, "", done=True, error="no hero loaded"))
            return
        started = time.perf_counter()
        chat = [{"role": role, "content": content} for role, content in cmd.messages]
        encoded = self.tokenizer.apply_chat_template(chat, add_generation_prompt=True, return_tensors="pt")
        ids = encoded["input_ids"] if hasattr(encoded, "keys") else encoded
        self.conn.send(OracleChunk(cmd.request_id, "", prompt=self.tokenizer.decode(ids[0].tolist())))
        produced: list[int] = []
        shown = ""
        past = None
        current = ids
        with torch.no_grad():
            for _ in range(cmd.max_new_tokens):
                out = self.model(input_ids=current, past_key_values=past, use_cache=True)
                past = out.past_key_values
                logits = out.logits[0, -1].float()
                if cmd.temperature > 0:
                    probs = torch.softmax(logits / cmd.temperature, dim=-1)
                    token = int(torch.multinomial(probs, 1).item())
                else:
                    token = int(torch.argmax(logits).item())
                if token in self.stop_ids:
                    break
                produced.append(token)
                text = self.tokenizer.decode(produced, skip_special_tokens=True)
                if text != shown and not text.endswith("\ufffd"):
                    self.conn.send(OracleChunk(cmd.request_id, text[len(shown) :]))
                    shown = text
                if self._cancelled():
                    break
                current = torch.tensor([[token]], dtype=ids.dtype)
        self.conn.send(
            OracleChunk(cmd.request_id, "", done=True, tokens=len(produced), seconds=time.perf_counter() - started)
        )

    def handle(self, cmd: OracleCommand) -> None:
        try:
            if isinstance(cmd, OracleLoad):
                self.conn.send(self._load(cmd))
            elif isinstance(cmd, OracleAsk):
                self._ask(cmd)
        except Exception as err:  # report, keep serving: a bad checkpoint must not kill the oracle
            detail = "".join(traceback.format_exception_only(type(err), err)).strip()
            detail = _out_of_memory(err) or detail
            if isinstance(cmd, OracleLoad):
                self.model = None
                self.conn.send(OracleLoaded(cmd.label, "", 0, error=detail))
            elif isinstance(cmd, OracleAsk):
                self.conn.send(OracleChunk(cmd.request_id, "", done=True, error=detail))

    def serve(self) -> None:
        while True:
            if self.pending:
                cmd = self.pending.pop(0)
            else:
                try:
                    cmd = self.conn.recv()
                except (EOFError, OSError):
                    return
            self.handle(cmd)


def _out_of_memory(err: BaseException) -> str:
    """The Oracle answers one conversation at a time (no batch to halve): out of memory frees what
    the answer held and says what to do; "" for any other error."""
    from realm_tui.trainer.oom_retry import free_memory, is_out_of_memory

    if not is_out_of_memory(err):
        return ""
    free_memory()
    return "out of memory answering (one conversation, nothing to halve): shorten it or ask for fewer new tokens"


def oracle_main(conn: Connection) -> None:
    """Child entry point: serve load/ask commands until the parent closes the pipe."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in the terminal is the UI's business
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        _Oracle(conn).serve()
    except (BrokenPipeError, EOFError, OSError):
        pass
    finally:
        conn.close()
