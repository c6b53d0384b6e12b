"""The game in a real terminal: `realm` inside tmux at 100×30 and 200×60, driven with send-keys
and read with capture-pane. Every screen (1..7), the key list (?) and Escape back must show their
titles, panel borders and footer keys whole: a phrase cut by the edge or by a too-narrow panel
fails. No battle is started (s is never pressed)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from realm_tui.services.init_realm import init_realm

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not on PATH")

NAV = "1 Tavern  2 Battle  3 Quests  4 Vault  5 Guild  6 Oracle  7 Armory  ? keys"
TAIL = "^q Quit  s Start  ? Keys"
"""The end of every screen's footer: seen whole, nothing before it pushed it off the edge."""

SCREENS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("1", ("─ Battle ─", "─ Quest queue ─", "─ Latest news ─", "no battle yet this session", "keys: s start")),
    (
        "2",
        (
            "─ Readouts ─",
            "─ Battle log ─",
            "─ Jobs in flight ─",
            "No battle this session. Press s to start one; the plots show the ledger.",
        ),
    ),
    (
        "3",
        (
            "─ Quests (queue order: high → normal → low, oldest first) ─",
            "─ Details ─",
            "n Add file  + Priority +  - Priority -  c Cancel  y Retry  i Scan inbox  " + TAIL,
        ),
    ),
    (
        "4",
        (
            "─ Checkpoints (newest first) ─",
            "─ Selected ─",
            "─ Disk & retention ─",
            "c Crown  d Delete  e Export  n New Game+  u Disk  f Drift  m Mark  " + TAIL,
        ),
    ),
    (
        "5",
        (
            "─ Skills ─",
            "─ Strain & curriculum ─",
            "─ Campaign ─",
            "─ Primitives ─",
            "─ Titles & achievements ─",
            "f5 Refresh  A Archive  N New campaign  R Resume campaign  m Spar  " + TAIL,
        ),
    ),
    ("N", ("New campaign: pick its hero", "The active campaign pauses; resume it later with R.", "Esc cancels")),
    ("Escape", ("─ Strain & curriculum ─", "─ Campaign ─")),
    ("6", ("─ Conversation ─", "─ Prompt ─", "Ask the oracle… (Enter sends)", "^l Clear  ^k Hush  ^t Prompt")),
    (
        "7",
        (
            "─ Settings (Ctrl+S applies at the next battle) ─",
            "─ VRAM estimate ─",
            "─ Memory profile ─",
            "─ Check ─",
            "^s Apply  ^z Revert  " + TAIL,
        ),
    ),
    ("?", ("battle.start", "Show every key binding", "app.help")),
    ("Escape", ("─ Settings (Ctrl+S applies at the next battle) ─", "^s Apply  ^z Revert  " + TAIL)),
)


HANG_GUARD_S = 60.0
"""How long a screen may take to appear: a hang guard, not a speed requirement (with both cores
busy, a fresh `realm` takes many seconds to import and paint; the wait ends at the first match)."""


def terminal_env() -> dict[str, str]:
    """The environment of a player's terminal. pytest (its textual snapshot plugin) exports
    COLUMNS=80 and LINES=24, which Textual would take over the real size of the tmux pane."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES") and not k.startswith("TEXTUAL_")}
    return {**env, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


class Tmux:
    """One tmux server on its own socket (`tmux -L`), killed at the end."""

    def __init__(self) -> None:
        self.socket = f"realm-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.env = terminal_env()

    def __call__(self, *args: str) -> str:
        command = ["tmux", "-L", self.socket, *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, env=self.env)
        assert done.returncode == 0, f"tmux {' '.join(args)}: {done.stderr.strip()}"
        return done.stdout

    def capture(self) -> str:
        return self("capture-pane", "-p", "-t", "realm")

    def wait_for(self, texts: tuple[str, ...], timeout: float, what: str, gone: tuple[str, ...] = ()) -> str:
        """The screen once every text (and the nav bar) is on it whole and none of `gone` is."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.capture()
            missing = [t for t in (NAV, *texts) if t not in screen] + [f"gone: {t}" for t in gone if t in screen]
            if not missing:
                return screen
            if time.monotonic() > deadline:
                size = self("display", "-p", "-t", "realm", "#{window_width}x#{window_height}").strip()
                raise AssertionError(f"{what} ({size}): not on screen (cut or missing): {missing}\n{screen}")
            time.sleep(0.1)

    def kill(self) -> None:
        """Stop the server and remove its socket file (tmux leaves it behind)."""
        path = subprocess.run(
            ["tmux", "-L", self.socket, "display", "-p", "#{socket_path}"], capture_output=True, text=True, timeout=60
        ).stdout.strip()
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=60, env=self.env)
        if path.endswith(self.socket):
            Path(path).unlink(missing_ok=True)


@pytest.mark.parametrize("size", [(100, 30), (200, 60)], ids=["100x30", "200x60"])
def test_every_screen_renders_whole_in_tmux(tmp_path: Path, size: tuple[int, int]) -> None:
    realm, _ = init_realm(tmp_path / "realm")
    width, height = size
    realm_bin = Path(sys.executable).with_name("realm")
    command = f"env -u COLUMNS -u LINES {realm_bin} --home {realm.root}"
    tmux = Tmux()
    try:
        tmux("new-session", "-d", "-s", "realm", "-x", str(width), "-y", str(height), command)
        tmux("set-option", "-t", "realm", "remain-on-exit", "on")  # a crash stays readable
        tmux.wait_for(SCREENS[0][1], HANG_GUARD_S, "first paint")
        shown: tuple[str, ...] = ()
        for key, texts in SCREENS:
            tmux("send-keys", "-t", "realm", key)
            # Escape closes a dialog: wait until its texts are gone, or the next key would be read as Alt+key.
            gone = shown if key == "Escape" else ()
            screen = tmux.wait_for(texts, HANG_GUARD_S, f"after {key} at {width}x{height}", gone)
            shown = texts
            lines = screen.splitlines()
            assert len(lines) <= height and all(len(line) <= width for line in lines)
            assert "Traceback" not in screen and "Pane is dead" not in screen
        assert not list((realm.root / "saves").rglob("checkpoint-*")), "no battle may start"
    finally:
        tmux.kill()
