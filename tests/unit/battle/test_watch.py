"""The battle's watchers: a sink that fails is dropped with one line; the others keep going."""

from __future__ import annotations

from realm_tui.battle.watch import BattleWatch
from realm_tui.contract.protocol import Log


class Recorder:
    def __init__(self) -> None:
        self.seen: list[object] = []
        self.closed = False

    def on_event(self, event: object) -> None:
        self.seen.append(event)

    def close(self) -> None:
        self.closed = True


class Broken:
    def on_event(self, event: object) -> None:
        raise RuntimeError("boom")

    def close(self) -> None:
        raise AssertionError("a dropped sink is not closed again")


def test_a_failing_sink_is_dropped_with_one_line() -> None:
    said: list[str] = []
    good = Recorder()
    watch = BattleWatch([Broken(), good], said.append)  # type: ignore[list-item]
    for i in range(3):
        watch.on_event(Log(f"line {i}"))
    watch.close()
    assert said == ["Broken stopped: boom; the battle goes on"]
    assert len(good.seen) == 3 and good.closed
