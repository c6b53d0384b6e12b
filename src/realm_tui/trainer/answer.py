"""A hero loaded for answering, not training: the base hero, with a checkpoint's weights if given.

Used by the answering child (`realm_tui.trainer.entry.answer`, for `realm quest spar` and
`realm eval`), the battle's examiner and `bench/eval_throughput.py`. Torch is imported when a
hero is loaded, not at module level.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


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
