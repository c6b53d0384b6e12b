"""Adapters between the screens and the store, folders and child processes (no textual)."""
