"""The hero answering outside a battle, parent side: `HeroAnswerer` spawns the answering child
(`realm_tui.trainer.entry.answer`, named by string) and speaks `realm_tui.contract.answer`'s plain
dataclasses over a pipe, for `realm quest spar` and `realm eval`. No torch in this process.
"""

from __future__ import annotations

import contextlib
import multiprocessing
from collections.abc import Sequence
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from types import TracebackType
from typing import Any

from realm_tui.contract.answer import AnswerSetup, AskAnswers, AskEval
from realm_tui.contract.protocol import EvalResult
from realm_tui.contract.spawn import run_entry
from realm_tui.errors import RealmError

READY_TIMEOUT_S = 300.0
ANSWER_ENTRY = "realm_tui.trainer.entry.answer"
"""The child's entry module (`answer_main(conn)`), imported in the child only."""

__all__ = ["AnswerSetup", "HeroAnswerer"]


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
        proc = ctx.Process(
            target=run_entry, args=(ANSWER_ENTRY, "answer_main", child), name="realm-answerer", daemon=True
        )
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
