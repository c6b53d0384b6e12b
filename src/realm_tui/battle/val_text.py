"""How a checkpoint's val loss reads in a log line: `, val 1.8060 = quest 0.0024·40% + SY 3.0080·60%`
when several sources make it (`rules.validation`), `, val 0.6000` for one, nothing without one."""

from __future__ import annotations

from realm_tui.contract.protocol import CheckpointSaved
from realm_tui.rules.validation import mix_weights


def val_text(event: CheckpointSaved) -> str:
    if event.val_loss is None:
        return ""
    shares = mix_weights(event.val_losses, event.val_drawn)
    if len(shares) < 2:
        return f", val {event.val_loss:.4f}"
    parts = " + ".join(
        f"{source if source == 'quest' else source.upper()} {event.val_losses[source]:.4f}·{share:.0%}"
        for source, share in shares.items()
    )
    return f", val {event.val_loss:.4f} = {parts}"
