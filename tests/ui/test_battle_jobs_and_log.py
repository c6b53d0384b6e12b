"""The Battle screen's live log and jobs table (issue #5 audit): notifications reach the log at once,
evals in flight are listed until answered, and the table fits a 100×30 terminal."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable
from ui_testkit import CAMPAIGN, FakeBridge
from uiwait import wait_for

from realm_tui.contract.protocol import CheckpointProgress, EvalProgress, Evaluate
from realm_tui.contract.protocol import QuestFinished as QuestFinishedEvent
from realm_tui.rules.notifications import Notification, NotificationKind, Severity
from realm_tui.ui.app import RealmApp
from realm_tui.ui.battle_runner import QUEST_DONE
from realm_tui.ui.messages import NotificationRaised
from realm_tui.ui.models import TrainerState
from realm_tui.ui.screens.battle import DETAIL, BattleScreen, trainer_detail
from realm_tui.ui.widgets.battle import BattleLog

pytestmark = pytest.mark.anyio


def _log_text(app: RealmApp) -> str:
    return "\n".join(strip.text for strip in app.screen.query_one(BattleLog).lines)


def _jobs(app: RealmApp) -> list[tuple[str, ...]]:
    table = app.screen.query_one("#jobs", DataTable)
    return [tuple(str(cell) for cell in table.get_row_at(i)) for i in range(table.row_count)]


def _eval_details(app: RealmApp) -> list[str]:
    return sorted(row[2] for row in _jobs(app) if row[0] == "eval")


async def test_a_notification_reaches_the_open_battle_log(make_app: Callable[..., RealmApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2")
        await pilot.pause()
        assert isinstance(app.screen, BattleScreen)
        note = Notification(NotificationKind.SKILL_LEVEL_UP, "BIN level 4", "mastered at step 2500", Severity.SUCCESS)
        app.post_message(NotificationRaised(note))
        # no leaving and coming back: the line must show in the log that is on screen
        await wait_for(pilot, lambda: "BIN level 4: mastered at step 2500" in _log_text(app), what="live log line")


async def test_a_notification_shows_once_when_a_refresh_comes_before_its_line(
    make_app: Callable[..., RealmApp],
) -> None:
    """A save brings a notification and a refresh at once: the Tavern's refresh shows the game's
    log, which already holds the notification's line, before the line's own message arrives (the
    play-test's news showed "Saved Game" and "Champion Crowned" twice). Each line shows once."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        note = Notification(NotificationKind.ACHIEVEMENT, "Achievement: Saved Game", "ok", Severity.SUCCESS)
        app.show_notification(note)
        app.screen.refresh_view()  # as a CheckpointAdded does, before the line's own message
        await wait_for(pilot, lambda: "Saved Game" in _log_text(app), what="news line")
        await pilot.pause()
        await pilot.pause()
        assert _log_text(app).count("Saved Game") == 1


async def test_evals_in_flight_are_listed_until_answered(make_app: Callable[..., RealmApp]) -> None:
    made: list[FakeBridge] = []

    def bridge() -> FakeBridge:
        made.append(FakeBridge(silent_on="retest"))  # the conductor's re-tests stay in flight
        return made[-1]

    app = make_app(bridge_factory=bridge, jobs_interval_s=0.1)
    async with app.run_test(size=(120, 40)) as pilot:
        game = app.game
        # The fixture's transitions use the `from_level`/`to_level` keys, which the keeper's
        # maxed-out check cannot read (it writes `from`/`to`): keep the evals off that path here.
        game.store.campaigns.update(CAMPAIGN, transitions=[])
        await pilot.press("2", "s")
        await wait_for(pilot, lambda: game.trainer_state is TrainerState.TRAINING, what="training")
        await pilot.press("p")
        await wait_for(pilot, lambda: game.trainer_state is TrainerState.PAUSED, what="paused")
        for _ in range(3):  # three evals at BIN's training level: the third makes the keeper re-test L3..L1
            game.battle.request(Evaluate("bin", 4, request_id="ask"))
        await wait_for(pilot, lambda: len(_eval_details(app)) == 3, what="three evals listed")
        assert all(detail.startswith("eval BIN L4") for detail in _eval_details(app))
        await pilot.press("r")  # the fake trainer answers with the next step
        await wait_for(
            pilot,
            lambda: (
                [d.split(" · ")[0] for d in _eval_details(app)]
                == ["re-test BIN L1", "re-test BIN L2", "re-test BIN L3"]
            ),
            what="answered evals gone, the conductor's re-tests listed",
        )
        sent = [c for c in made[0].sent if isinstance(c, Evaluate) and c.request_id == "retest"]
        assert [(c.skill, c.level) for c in sent] == [("bin", 3), ("bin", 2), ("bin", 1)]
        await pilot.press("x")
        await wait_for(pilot, lambda: not game.trainer_state.busy, what="stopped")
        await wait_for(pilot, lambda: _eval_details(app) == [], what="evals cleared when the battle ends")


async def test_the_jobs_table_fits_a_100_by_30_terminal(make_app: Callable[..., RealmApp]) -> None:
    made: list[FakeBridge] = []

    def bridge() -> FakeBridge:
        made.append(FakeBridge())
        return made[-1]

    app = make_app(bridge_factory=bridge, jobs_interval_s=0.1)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("2", "s")
        await wait_for(pilot, lambda: app.game.live is not None, what="a live battle")
        table = app.screen.query_one("#jobs", DataTable)
        await wait_for(pilot, lambda: "ETA" in "".join(r[2] for r in _jobs(app)), what="the trainer row")
        # Paused, the row stops changing and the battle cannot end meanwhile (a loaded run once
        # waited here while the short battle finished and its row became "idle").
        await pilot.press("p")
        await wait_for(pilot, lambda: app.game.trainer_state is TrainerState.PAUSED, what="paused")

        def shown() -> str:
            return "\n".join(table.render_line(y).text for y in range(table.size.height))

        def trainer_row() -> str:
            return next(r for r in _jobs(app) if r[0] == "trainer")[2]

        def drawn_whole() -> bool:
            # The row changes with every ETA and the table lays out its columns on the next refresh:
            # wait for a refresh that drew the current row (a cut row never is, and times out).
            return "ETA" in trainer_row() and trainer_row() in shown()

        async def check_quest_whole(quest: str) -> None:
            await wait_for(pilot, lambda: trainer_row().startswith(f"{quest} · ETA"), what=f"{quest} in the row")
            await wait_for(pilot, drawn_whole, what="the trainer row drawn whole, not cut")
            assert f"{quest} · ETA" in shown()  # the quest's name whole, not `skills o…`
            assert table.max_scroll_x == 0, (
                f"jobs table scrolls sideways: {table.virtual_size.width} > {table.size.width}"
            )
            assert not table.show_horizontal_scrollbar

        live = app.game.live
        assert live is not None
        await check_quest_whole(live.quest_id)
        # The quest trained, the battle goes on with the skills alone (the first session's usual
        # row); the checkpoint makes the paused battle's readouts show it.
        trainer = made[0]
        trainer.queue += [QuestFinishedEvent(live.quest_id, trainer.step, 0.5), trainer._checkpoint()]
        await check_quest_whole(QUEST_DONE)
        await pilot.press("x")
        await wait_for(pilot, lambda: not app.game.trainer_state.busy, what="stopped")


@pytest.mark.parametrize("eta", ["—", "9s", "12m30s", "11h59m"])
def test_the_trainer_row_keeps_its_eta_whatever_the_machine_speed(eta: str) -> None:
    # Under load the ETA grows longer ("12m30s" for "45s"); the quest name gives way, never the ETA.
    detail = trainer_detail("a-very-long-quest-name-from-the-inbox", eta)
    assert len(detail) <= DETAIL
    assert detail.endswith(f"… · ETA {eta}")
    # A name of up to 15 characters (an inbox file's, the skills-only label) is never cut.
    for quest in (QUEST_DONE, "urgent-bits", "q" * 15):
        assert trainer_detail(quest, eta) == f"{quest} · ETA {eta}"


def _running_evals(app: RealmApp) -> list[str]:
    return [r[2] for r in _jobs(app) if r[0] == "eval" and r[1] == "running"]


@asynccontextmanager
async def _paused_battle(make_app: Callable[..., RealmApp]) -> AsyncIterator[tuple[RealmApp, Pilot[None], FakeBridge]]:
    """A battle on the Battle screen, paused (the fake trainer answers only what the test queues),
    stopped on the way out."""
    made: list[FakeBridge] = []

    def bridge() -> FakeBridge:
        made.append(FakeBridge())
        return made[-1]

    app = make_app(bridge_factory=bridge, jobs_interval_s=0.1)
    async with app.run_test(size=(120, 40)) as pilot:
        game = app.game
        await pilot.press("2", "s")
        await wait_for(pilot, lambda: game.trainer_state is TrainerState.TRAINING, what="training")
        await pilot.press("p")
        await wait_for(pilot, lambda: game.trainer_state is TrainerState.PAUSED, what="paused")
        yield app, pilot, made[0]
        await pilot.press("x")
        await wait_for(pilot, lambda: not game.trainer_state.busy, what="stopped")


async def test_an_eval_in_flight_shows_its_progress_in_the_jobs_table(make_app: Callable[..., RealmApp]) -> None:
    """The trainer's `EvalProgress` events: the running eval is a jobs row with n/N and its ETA,
    gone when the eval is cut short (or answered)."""
    async with _paused_battle(make_app) as (app, pilot, trainer):
        trainer.queue.append(EvalProgress("sy", 1, trainer.step, 37, 100, eta_s=12.0))
        await wait_for(pilot, lambda: _running_evals(app) != [], what="eval row")
        assert _running_evals(app)[0].startswith("SY L1 37/100 · ETA"), _running_evals(app)
        trainer.queue.append(EvalProgress("sy", 1, trainer.step, 40, 100, cut_short=True))
        await wait_for(pilot, lambda: _running_evals(app) == [], what="row gone")


async def test_an_eval_with_nothing_answered_yet_still_moves_on_screen(make_app: Callable[..., RealmApp]) -> None:
    """An untrained hero's SY answers all run to their budget, so an eval reports 0/N until its
    end: the row shows the eval's time running instead, so the screen is never still."""
    async with _paused_battle(make_app) as (app, pilot, trainer):
        trainer.queue.append(EvalProgress("sy", 1, trainer.step, 0, 100))
        await wait_for(pilot, lambda: _running_evals(app) != [], what="eval row")
        first = _running_evals(app)[0]
        assert first.startswith("SY L1 0/100 · ") and first.endswith(" in"), first
        await wait_for(pilot, lambda: _running_evals(app) != [first], what="the row to move while nothing is answered")
        assert _running_evals(app)[0].startswith("SY L1 0/100 · ")


def _saves(app: RealmApp) -> list[str]:
    return [r[2] for r in _jobs(app) if r[0] == "save" and r[1] == "running"]


async def test_a_checkpoint_being_saved_is_a_job_until_it_is_saved(make_app: Callable[..., RealmApp]) -> None:
    """The trainer's `CheckpointProgress` events (issue 11: a save is never silent): the save is a
    jobs row with its val pass's micro-batches, then its write, gone with its `CheckpointSaved`."""
    async with _paused_battle(make_app) as (app, pilot, trainer):
        trainer.queue.append(CheckpointProgress(trainer.step, "val sy", 3, 8))
        await wait_for(pilot, lambda: _saves(app) != [], what="save row")
        assert _saves(app)[0].startswith("val sy 3/8 · "), _saves(app)
        trainer.queue.append(CheckpointProgress(trainer.step, "writing optimizer"))
        await wait_for(pilot, lambda: _saves(app)[:1] != [] and "writing optimizer" in _saves(app)[0], what="write")
        trainer.queue.append(trainer._checkpoint())
        await wait_for(pilot, lambda: _saves(app) == [], what="row gone once saved")
