"""Realm of Training: a terminal RPG-idler where playing the game fine-tunes a language model."""

__version__ = "0.1.0"
