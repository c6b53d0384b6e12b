"""The store is headless: importing it pulls in neither torch nor textual."""

from __future__ import annotations

from ._helpers import run_child


def test_store_imports_no_torch_or_textual() -> None:
    result = run_child(
        """
        import sys
        import realm_tui.store
        from realm_tui.store import Store, CheckpointRecord, StoreError
        heavy = sorted(m for m in ("torch", "textual", "transformers") if m in sys.modules)
        print(",".join(heavy) or "clean")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "clean"
