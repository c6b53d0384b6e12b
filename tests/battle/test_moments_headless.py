"""Moments headless: a level-up, a mastered skill level, a new champion and a maxed-out verdict
print as marked lines into a pipe (`*** LEVEL UP: … ***`), a rich banner on a terminal, and
`configs/settings.yaml` can turn them (and the bell) off."""

from __future__ import annotations

import io
import re
import subprocess

from battle_kit import child_env, realm_cmd
from rich.console import Console

from realm_tui.battle.plain_render import PlainRenderer
from realm_tui.battle.render import RichRenderer
from realm_tui.battle.session import Applied
from realm_tui.contract.protocol import EvalResult
from realm_tui.paths import RealmPaths
from realm_tui.rules.moments import moment_of
from realm_tui.rules.notifications import Notification, level_up, new_champion, quest_complete, skill_level_up

MOMENT = re.compile(r"^\*\*\* LEVEL UP: hero level (\d+) \*\*\*$")


def test_a_real_battle_prints_its_level_up_as_a_marked_line(tiny_realm: RealmPaths) -> None:
    done = subprocess.run(
        realm_cmd(tiny_realm, "train", "--no-ui", "--hero", "tiny", "--steps", "12"),
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=240,
    )
    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stdout + done.stderr
    levels = [int(m.group(1)) for m in map(MOMENT.match, lines) if m]
    assert levels, "\n".join(lines)  # 10 steps a level: step 10 levels the hero up
    assert not any("\x1b[" in x for x in lines)

    # the player turns moments off: the notification line stays, the marked line goes
    (tiny_realm.configs / "settings.yaml").write_text("moments: false\n")
    again = subprocess.run(
        realm_cmd(tiny_realm, "train", "--no-ui", "--hero", "tiny", "--steps", "12"),
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=240,
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert not any(line.startswith("*** ") for line in again.stdout.splitlines()), again.stdout


def _applied(*notes: Notification) -> Applied:
    return Applied(EvalResult(step=40, skill="bin", level=2, accuracy=0.9, total=10), notes)


def test_each_moment_kind_has_its_line_and_plain_notices_do_not() -> None:
    out = io.StringIO()
    notes = [skill_level_up("bin", 2), new_champion("checkpoint-40", 40, 0.9), quest_complete("q1", 5), level_up(1, 2)]
    PlainRenderer(out).on_event(_applied(*notes))
    marked = [x for x in out.getvalue().splitlines() if x.startswith("***")]
    assert marked == [
        "*** LEVEL UP: BIN L2 ***",
        "*** NEW CHAMPION: checkpoint-40 ***",
        "*** LEVEL UP: hero level 2 ***",
    ]
    assert moment_of(quest_complete("q1")) is None


def test_rich_banner_rings_the_bell_unless_settings_say_no() -> None:
    for bell in (True, False):
        out = io.StringIO()
        console = Console(file=out, force_terminal=True, width=100)
        RichRenderer(console, bell=bell).on_event(_applied(skill_level_up("sy", 1)))
        text = out.getvalue()
        assert "LEVEL UP: SY L1" in text and "\x1b[" in text  # styled on a terminal
        assert ("\a" in text) is bell
