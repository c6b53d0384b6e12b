"""Reusable widgets: they render values they are given and post messages; no store, no trainer."""
