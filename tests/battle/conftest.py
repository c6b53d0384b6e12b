from battle_kit import popen_cleanup, tiny_realm

__all__ = ["popen_cleanup", "tiny_realm"]
