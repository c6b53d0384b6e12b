"""The hero answering outside a battle: a spawned child process that loads a checkpoint (or the
base hero) and answers prompts or runs an eval, for `realm quest spar` and `realm eval`.

This module imports no torch at module level: the parent side (`HeroAnswerer`) only spawns the
child and speaks plain dataclasses over a pipe; torch is imported in the child
(`answer_main`) and in `load_for_inference`.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import TracebackType
from typing import Any

from realm_tui.contract.protocol import EvalResult
from realm_tui.errors import RealmError

DEFAULT_THREADS = 2
READY_TIMEOUT_S = 300.0


def load_for_inference(
    hero: dict[str, Any], realm_root: Path, checkpoint: Path | None, profile: dict[str, Any] | None = None
) -> tuple[Any, Any]:
    """(model, tokenizer) in eval mode: the base hero, with a verified checkpoint's weights if given."""
    from realm_tui.contract import manifest
    from realm_tui.trainer.checkpoint import load_weights_into
    from realm_tui.trainer.hero import load_hero

    if checkpoint is not None:
        manifest.verify_checkpoint(Path(checkpoint))
    loaded = load_hero(hero, Path(realm_root), for_training=False, profile=profile or {})
    if checkpoint is not None:
        load_weights_into(loaded.model, Path(checkpoint), verified=True)
    loaded.model.eval()
    return loaded.model, loaded.tokenizer


# ---------------------------------------------------------------- messages


@dataclass(frozen=True)
class AnswerSetup:
    hero: dict[str, Any]
    """The validated hero config (`HeroConfig.model_dump(mode="json")`)."""
    realm_root: str
    checkpoint: str | None = None
    """A checkpoint folder; None for the base hero."""
    memory_profile: dict[str, Any] = field(default_factory=dict)
    threads: int = DEFAULT_THREADS


@dataclass(frozen=True)
class AskAnswers:
    prompts: tuple[str, ...]
    """User prompts, one conversation each."""
    max_new_tokens: int = 128
    system: str | None = None


@dataclass(frozen=True)
class AskEval:
    skill: str
    level: int
    samples: int
    step: int = 0


@dataclass(frozen=True)
class Reply:
    value: Any = None
    error: str = ""


# ---------------------------------------------------------------- child


def _serve(conn: Connection, setup: AnswerSetup) -> None:
    import torch

    from realm_tui.skills.registry import realm_skill
    from realm_tui.trainer.data import ChatFormat
    from realm_tui.trainer.evaluate import evaluate_skill, generate_texts

    torch.set_num_threads(max(1, setup.threads))
    root = Path(setup.realm_root)
    model, tokenizer = load_for_inference(
        setup.hero, root, Path(setup.checkpoint) if setup.checkpoint else None, setup.memory_profile
    )
    chat = ChatFormat.from_hero(setup.hero)
    conn.send(Reply("ready"))
    while True:
        try:
            ask = conn.recv()
        except (EOFError, OSError):
            return
        if ask is None:
            return
        try:
            if isinstance(ask, AskAnswers):
                convs = [
                    ([{"role": "system", "content": ask.system}] if ask.system else [])
                    + [{"role": "user", "content": p}]
                    for p in ask.prompts
                ]
                value: Any = generate_texts(model, tokenizer, convs, max_new_tokens=ask.max_new_tokens, chat=chat)
            elif isinstance(ask, AskEval):
                skill = realm_skill(ask.skill, root / "configs")
                value = evaluate_skill(model, tokenizer, skill, ask.level, ask.samples, step=ask.step, chat=chat)
            else:
                raise RealmError(f"unknown request {type(ask).__name__}")
            conn.send(Reply(value))
        except (RealmError, ValueError, KeyError) as err:
            conn.send(Reply(error=str(err)))


def answer_main(conn: Connection) -> None:
    """Entry point of the spawned child: AnswerSetup first, then requests until None or EOF."""
    try:
        setup = conn.recv()
        _serve(conn, setup)
    except (EOFError, OSError):
        return
    except RealmError as err:
        conn.send(Reply(error=str(err)))
    except Exception:
        conn.send(Reply(error=traceback.format_exc(limit=6)))


# ---------------------------------------------------------------- parent


class HeroAnswerer:
    """`with HeroAnswerer(setup) as hero: hero.answer(prompts)` — the hero in a child process.

    `answer` is the `generate` callable sparring wants (prompts → answers)."""

    def __init__(self, setup: AnswerSetup, *, max_new_tokens: int = 128) -> None:
        self.setup = setup
        self.max_new_tokens = max_new_tokens
        self._conn: Connection | None = None
        self._proc: BaseProcess | None = None

    def start(self) -> HeroAnswerer:
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe(duplex=True)
        proc = ctx.Process(target=answer_main, args=(child,), name="realm-answerer", daemon=True)
        proc.start()
        child.close()
        self._conn, self._proc = parent, proc
        parent.send(self.setup)
        self._expect(READY_TIMEOUT_S, "loading the hero")
        return self

    def _expect(self, timeout: float, what: str) -> Any:
        assert self._conn is not None and self._proc is not None
        if not self._conn.poll(timeout):
            self.close()
            raise RealmError(f"the hero did not answer in time ({what}, {timeout:.0f} s)")
        try:
            reply = self._conn.recv()
        except (EOFError, OSError):
            self.close()
            raise RealmError(f"the hero's process ended while {what} (exit code {self._proc.exitcode})") from None
        if reply.error:
            self.close()
            raise RealmError(f"the hero failed while {what}: {reply.error}")
        return reply.value

    def _ask(self, request: Any, timeout: float, what: str) -> Any:
        if self._conn is None:
            self.start()
        assert self._conn is not None
        self._conn.send(request)
        return self._expect(timeout, what)

    def answer(self, prompts: Sequence[str]) -> list[str]:
        out = self._ask(AskAnswers(tuple(prompts), self.max_new_tokens), 60.0 + 2.0 * len(prompts), "answering")
        return list(out)

    def evaluate(self, skill: str, level: int, samples: int) -> EvalResult:
        result: EvalResult = self._ask(AskEval(skill, level, samples), 60.0 + 2.0 * samples, "evaluating")
        return result

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(BrokenPipeError, OSError):
                self._conn.send(None)
            self._conn.close()
            self._conn = None
        if self._proc is not None:
            self._proc.join(10.0)
            if self._proc.is_alive():
                self._proc.kill()
                self._proc.join(5.0)
            self._proc = None

    def __enter__(self) -> HeroAnswerer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
