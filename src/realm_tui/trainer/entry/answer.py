"""The answering child's entry point: loads a hero (or a checkpoint) and answers prompts or runs
an eval, for `realm quest spar` and `realm eval`.

Spawned by `realm_tui.services.answerer.HeroAnswerer` with the spawn context, by name (through
`contract.spawn.run_entry`), so the parent never imports this module; torch is imported in
`_serve`, in the child. The messages over the pipe are `realm_tui.contract.answer`.
"""

from __future__ import annotations

import traceback
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from realm_tui.contract.answer import AnswerSetup, AskAnswers, AskEval, Reply
from realm_tui.errors import RealmError
from realm_tui.trainer.answer import load_for_inference


def _serve(conn: Connection, setup: AnswerSetup) -> None:
    import torch

    from realm_tui.skills.registry import realm_skill
    from realm_tui.trainer.data import ChatFormat
    from realm_tui.trainer.evaluate import evaluate_skill
    from realm_tui.trainer.sampling import answer_texts

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
                value: Any = answer_texts(
                    model,
                    tokenizer,
                    convs,
                    max_new_tokens=ask.max_new_tokens,
                    chat=chat,
                    temperature=ask.temperature,
                    top_p=ask.top_p,
                )
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
