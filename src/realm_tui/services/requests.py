"""Writes go through the writer: the player's store changes, applied by whoever holds the store.

The store has one writer; while a battle runs that is the battle's parent. A write command (`realm
quest add`, `vault crown`, `campaign archive`, `battle stop` …) calls :func:`write`: with the store
free it opens it as the writer and applies the change itself; when a battle holds it, it leaves a
request in ``saves/requests/`` (:mod:`realm_tui.services.request_files`) and waits for the answer.
The battle's session calls :class:`BattleRequests` every turn of its loop; it looks at the folder
at most every half second and applies what waits through :func:`apply_pending` — the very same
use-case functions (:data:`VERBS`) the direct path calls. Nothing is lost when the battle ends
before it applies a request: any later writer (a command's direct path, the next battle) applies
pending requests first, and a command still waiting becomes that writer itself. The game, when
it holds the store and no battle runs, applies them too (:func:`apply_idle`, from a UI worker).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from realm_tui.errors import InputError, RealmError, StoreError
from realm_tui.paths import RealmPaths
from realm_tui.services import request_files as files
from realm_tui.services.request_files import Id, Request, Result, Spec
from realm_tui.store import QUEST_PRIORITIES, Store
from realm_tui.store.holder import lock_is_held
from realm_tui.store.lock import StoreBusy

if TYPE_CHECKING:
    from realm_tui.battle.session import BattleSession
    from realm_tui.quests.board import Board
    from realm_tui.store import QuestRecord

Lines = list[tuple[str, str]]
CHECK_EVERY_S = 0.5
"""How often a battle looks at the request folder (one directory listing)."""
WAIT_S = 10.0
"""How long a command waits for the battle's answer by default."""
_APPLYING = threading.Lock()
"""One writer process may apply from two threads (the game's idle timer, then its battle): one at a
time, so a request is never read twice before its file is gone."""


@dataclass(frozen=True)
class BattleContext:
    """What the writer knows when it is a running battle."""

    started: float
    """Wall time the battle started: battle verbs written before it are stale (not for this battle)."""
    campaign_id: str | None
    control: Callable[[str], str]
    """Turns `battle.pause` / `battle.resume` / `battle.stop` into the session's command; says what it did."""


@dataclass
class Outcome:
    lines: Lines = field(default_factory=list)
    code: int = 0


Handler = Callable[[RealmPaths, Store, dict[str, Any], BattleContext | None], Outcome]


# ---------------------------------------------------------------- the use-cases, once


def _board(realm: RealmPaths, store: Store, hero_id: str | None, lines: Lines) -> Board:
    from realm_tui.quests.board import board_for
    from realm_tui.services.heroes import hero_for_limits

    found = hero_for_limits(realm, store, hero_id)
    if found.warning:
        lines.append(("warn", f"realm: warning: {found.warning}"))
    return board_for(realm, store, found.hero)


def _said(record: QuestRecord, verb: str, lines: Lines) -> Outcome:
    lines.append(("out", f"{verb} {record.id}: {record.state} ({record.priority}) {record.path}"))
    if record.state == "failed" and record.reasons:
        lines.append(("err", f"  {record.reasons[-1]}"))
    return Outcome(lines)


def quest_add(realm: RealmPaths, store: Store, args: dict[str, Any], battle: BattleContext | None) -> Outcome:
    lines: Lines = []
    source = Path(args["file"])
    if not source.is_absolute():
        source = realm.root / source
    record = _board(realm, store, args.get("hero"), lines).add_file(source, args.get("priority") or "normal")
    if source.parent.parent.resolve() == files.staged_dir(realm).resolve():  # the requester's copy: ours
        shutil.rmtree(source.parent, ignore_errors=True)
    outcome = _said(record, "queued", lines)
    validation = record.report.get("validation", {})
    if validation.get("invalid"):
        invalid = validation["invalid"]
        lines.append(("note", f"  {invalid} invalid line(s) left out; see: realm quest show {record.id}"))
    return outcome


def quest_retry(realm: RealmPaths, store: Store, args: dict[str, Any], battle: BattleContext | None) -> Outcome:
    lines: Lines = []
    record = _board(realm, store, args.get("hero"), lines).retry(args["quest"], args.get("priority"))
    outcome = _said(record, "retried", lines)
    outcome.code = 0 if record.state == "queued" else 2
    return outcome


def quest_cancel(realm: RealmPaths, store: Store, args: dict[str, Any], battle: BattleContext | None) -> Outcome:
    lines: Lines = []
    return _said(_board(realm, store, None, lines).cancel(args["quest"]), "cancelled", lines)


def quest_prioritize(realm: RealmPaths, store: Store, args: dict[str, Any], battle: BattleContext | None) -> Outcome:
    lines: Lines = []
    record = _board(realm, store, None, lines).prioritize(args["quest"], args.get("priority") or "high")
    return _said(record, "moved", lines)


def quest_forge(realm: RealmPaths, store: Store, args: dict[str, Any], battle: BattleContext | None) -> Outcome:
    from realm_tui.quests.forge import forge_quest

    lines: Lines = []
    board = _board(realm, store, args.get("hero"), lines)
    record = forge_quest(
        board,
        skill=args["skill"],
        level=args["level"],
        count=args.get("count") or 1000,
        priority=args.get("priority") or "normal",
    )
    outcome = _said(record, "forged", lines)
    outcome.code = 0 if record.state == "queued" else 2
    return outcome


def vault_crown(realm: RealmPaths, store: Store, args: dict[str, Any], battle: BattleContext | None) -> Outcome:
    from realm_tui.services.vault import Vault, VaultRefusal

    try:
        note = Vault(realm, store).promote(args["name"])
    except VaultRefusal as err:
        raise InputError(None, str(err)) from None
    return Outcome([("out", f"crowned {args['name']}: {note.title}")])


def vault_delete(realm: RealmPaths, store: Store, args: dict[str, Any], battle: BattleContext | None) -> Outcome:
    from realm_tui.services.vault import Vault, VaultRefusal

    try:
        Vault(realm, store).delete(args["name"])
    except VaultRefusal as err:
        raise InputError(None, str(err)) from None
    return Outcome([("out", f"deleted {args['name']}")])


def campaign_archive(realm: RealmPaths, store: Store, args: dict[str, Any], battle: BattleContext | None) -> Outcome:
    from realm_tui.services.campaigns import CampaignDesk
    from realm_tui.services.records import require_campaign

    record = require_campaign(store, args["campaign"])
    if battle is not None and battle.campaign_id == record.id:
        raise InputError(None, f"the running battle fights for {record.id}: stop it first (realm battle stop)")
    record = CampaignDesk(realm, store).archive(record.id)
    return Outcome([("out", f"archived {record.id}")])


def _battle_verb(verb: str) -> Handler:
    def handler(realm: RealmPaths, store: Store, args: dict[str, Any], battle: BattleContext | None) -> Outcome:
        if battle is None:
            raise RealmError("no battle is running: nothing to " + verb.split(".")[1])
        return Outcome([("out", battle.control(verb))])

    return handler


PRIORITY = frozenset(QUEST_PRIORITIES)
VERBS: dict[str, tuple[Spec, Handler]] = {
    "quest.add": ({"file": Path, "priority": PRIORITY, "hero": Id}, quest_add),
    "quest.cancel": ({"quest": Id}, quest_cancel),
    "quest.prioritize": ({"quest": Id, "priority": PRIORITY}, quest_prioritize),
    "quest.retry": ({"quest": Id, "priority": PRIORITY, "hero": Id}, quest_retry),
    "quest.forge": ({"skill": Id, "level": int, "count": int, "priority": PRIORITY, "hero": Id}, quest_forge),
    "vault.delete": ({"name": Id}, vault_delete),
    "vault.crown": ({"name": Id}, vault_crown),
    "campaign.archive": ({"campaign": Id}, campaign_archive),
    **{f"battle.{v}": ({}, _battle_verb(f"battle.{v}")) for v in ("pause", "resume", "stop")},
}
SPECS = {verb: spec for verb, (spec, _) in VERBS.items()}
REQUIRED = {"quest.add": ("file",), "quest.forge": ("skill", "level"), "vault.delete": ("name",)}
REQUIRED |= {"vault.crown": ("name",), "campaign.archive": ("campaign",)}
REQUIRED |= {v: ("quest",) for v in ("quest.cancel", "quest.prioritize", "quest.retry")}


def perform(
    realm: RealmPaths, store: Store, verb: str, args: dict[str, Any], battle: BattleContext | None = None
) -> Outcome:
    """Apply one verb as the writer; a refusal raises the use-case's RealmError."""
    if verb not in VERBS:
        raise InputError(None, f"unknown request verb {verb!r}")
    missing = [key for key in REQUIRED.get(verb, ()) if args.get(key) is None]
    if missing:
        raise InputError(None, f"{verb} needs {', '.join(missing)}")
    return VERBS[verb][1](realm, store, args, battle)


# ---------------------------------------------------------------- the writer's side


def _answer(realm: RealmPaths, store: Store, request: Request, battle: BattleContext | None) -> Result:
    def result(ok: bool, lines: Lines | None = None, error: str = "", code: int = 0) -> Result:
        return Result(request.id, request.verb, ok, lines or [], error, code, os.getpid(), time.time())

    if request.verb.startswith("battle.") and battle is not None and request.created < battle.started:
        return result(False, error="written before this battle started: not for it", code=1)
    try:
        outcome = perform(realm, store, request.verb, request.args, battle)
    except RealmError as err:
        return result(False, error=str(err), code=err.exit_code)
    return result(outcome.code == 0, outcome.lines, code=outcome.code)


def apply_pending(
    realm: RealmPaths,
    store: Store,
    *,
    battle: BattleContext | None = None,
    say: Callable[[str], None] | None = None,
    warn: Callable[[str], None] | None = None,
) -> list[Result]:
    """Apply every waiting request (oldest first) as the writer of ``store``; answer each, move
    refused files aside, tell ``say`` one line per request (``warn``, default ``say``: one per
    refusal). Never raises for a request's sake."""
    with _APPLYING:
        return _apply_all(realm, store, battle, say, warn or say)


def _apply_all(
    realm: RealmPaths,
    store: Store,
    battle: BattleContext | None,
    say: Callable[[str], None] | None,
    warn: Callable[[str], None] | None,
) -> list[Result]:
    results: list[Result] = []
    for name in files.pending(realm):
        try:
            request = files.read_request(realm, name, SPECS)
        except FileNotFoundError:
            continue  # answered by another writer a moment ago
        except (InputError, OSError) as err:
            files.reject(realm, name, str(err))
            if warn is not None:
                warn(f"request refused and moved to {files.rejected_dir(realm).name}/: {err}")
            continue
        try:
            result = _answer(realm, store, request, battle)
        except Exception as err:  # a bug or a store problem must not stop the writer (the battle)
            result = Result(request.id, request.verb, False, error=f"{type(err).__name__}: {err}", code=1)
        try:
            files.write_result(realm, result, name)
        except OSError as err:
            files.reject(realm, name, f"the answer could not be written: {err}")
        results.append(result)
        tell = say if result.ok else warn
        if tell is not None:
            tell(result.summary())
    return results


class BattleRequests:
    """The battle session's hook (`BattleSession(requests=…)`): applies requests every half second."""

    def __init__(self, realm: RealmPaths, every_s: float = CHECK_EVERY_S) -> None:
        self.realm = realm
        self.every_s = every_s
        self.started = time.time()
        self._next = 0.0

    def __call__(self, session: BattleSession) -> None:
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + self.every_s
        if not files.has_pending(self.realm):
            return
        plan = session.plan
        context = BattleContext(self.started, plan.campaign.id if plan else None, lambda v: _steer(session, v))
        try:
            apply_pending(
                self.realm,
                session.store,
                battle=context,
                say=lambda text: session.say(text),
                warn=lambda text: session.say(text, kind="error"),  # red in the game's battle log
            )
        except Exception as err:  # never stop a battle for a request
            session.say(f"requests could not be applied: {err}", kind="error")


def waiting(realm: RealmPaths) -> bool:
    """Whether a request waits for the writer (one directory listing)."""
    return files.has_pending(realm)


def apply_idle(
    realm: RealmPaths,
    store: Store,
    *,
    say: Callable[[str], None] | None = None,
    warn: Callable[[str], None] | None = None,
) -> list[Result]:
    """The idle writer's turn (the game holding the store, no battle running): what waits, applied
    as a command's direct path would; [] at the cost of one directory listing when nothing waits."""
    if not files.has_pending(realm):
        return []
    return apply_pending(realm, store, say=say, warn=warn)


def _steer(session: BattleSession, verb: str) -> str:
    from realm_tui.battle.session import Phase
    from realm_tui.contract.protocol import Pause, Resume, Stop, StopReason

    phase = session.phase
    if verb == "battle.pause":
        if phase is not Phase.TRAINING:
            raise RealmError(f"the battle is {phase.value}: nothing to pause")
        session.request(Pause())
        return "pausing at the next step boundary"
    if verb == "battle.resume":
        if phase is not Phase.PAUSED:
            raise RealmError(f"the battle is {phase.value}, not paused: nothing to resume")
        session.request(Resume())
        return "resuming"
    if phase is Phase.STOPPING:
        return "already stopping"
    session.request(Stop(reason=StopReason.REQUESTED))
    return "stopping: saving a checkpoint at the next step boundary"


# ---------------------------------------------------------------- the requester's side


@dataclass
class Answer:
    """What a write command prints: ``notes`` (store repairs, earlier requests applied) then the result."""

    result: Result
    notes: list[str] = field(default_factory=list)
    queued: bool = False
    """True: it went through a request (a battle holds the store)."""


def _direct(realm: RealmPaths, store: Store, verb: str, args: dict[str, Any]) -> Answer:
    notes = [str(w) for w in store.warnings]
    files.prune_answers(realm)
    earlier = apply_pending(realm, store)  # what a battle left unapplied goes first, in order
    notes += [f"applied an earlier {r.summary()}" for r in earlier]
    request = Request("direct", verb, args, time.time(), os.getpid())
    return Answer(_answer(realm, store, request, None), notes)


def write(
    realm: RealmPaths,
    verb: str,
    args: dict[str, Any],
    *,
    wait_s: float = WAIT_S,
    wait: bool = True,
) -> Answer:
    """Apply ``verb`` now when the store is free, else ask the battle that holds it and wait up to
    ``wait_s`` for its answer (``wait=False``: leave the request and return at once)."""
    try:
        store = Store.open(realm.store_file)
    except StoreBusy:
        request_id = files.new_id()
        args = _stage(realm, verb, args, request_id)
        if not wait:
            files.write_request(realm, verb, args, request_id)
            result = Result(request_id, verb, True, [("out", f"queued request {request_id}; the battle will apply it")])
            return Answer(result, queued=True)
        return Answer(submit(realm, verb, args, wait_s=wait_s, request_id=request_id), queued=True)
    with store:
        return _direct(realm, store, verb, args)


def _stage(realm: RealmPaths, verb: str, args: dict[str, Any], request_id: str) -> dict[str, Any]:
    """A quest file from anywhere is copied into the realm first: a request names realm paths only."""
    if verb != "quest.add":
        return args
    source = Path(args["file"]).expanduser()
    if not source.is_file():
        raise InputError(source, "no such file")
    target = files.staged_dir(realm) / request_id / source.name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return {**args, "file": target.relative_to(realm.root).as_posix()}


def submit(
    realm: RealmPaths,
    verb: str,
    args: dict[str, Any],
    *,
    wait_s: float = WAIT_S,
    request_id: str | None = None,
    poll_s: float = 0.05,
) -> Result:
    """Write a request and wait for the writer's answer; a RealmError when none comes in time.

    Should the store become free meanwhile (the battle ended), this process becomes the writer and
    applies the pending requests itself: nothing waits for a battle that is gone."""
    request = files.write_request(realm, verb, args, request_id)
    deadline = time.monotonic() + wait_s
    next_check = time.monotonic() + CHECK_EVERY_S
    while True:
        result = files.take_result(realm, request.id)
        if result is not None:
            return result
        why = files.was_rejected(realm, request.id)
        if why is not None:
            raise InputError(None, f"the writer refused request {request.id}: {why}")
        if time.monotonic() >= deadline:
            raise RealmError(
                f"request {request.id} ({verb}) is queued; {_who_applies(realm)} (no answer within {wait_s:g} s)"
            )
        if time.monotonic() >= next_check:
            next_check = time.monotonic() + CHECK_EVERY_S
            _apply_if_free(realm)
        time.sleep(poll_s)


def _who_applies(realm: RealmPaths) -> str:
    from realm_tui.services.battle_status import battle_elsewhere

    running = battle_elsewhere(realm)
    if running is None or running.is_battle:
        return "the battle will apply it (see its log), or the next command that writes the store"
    return f"the game applies it within seconds when it holds the store, else once the store is free; {running.line()}"


def _apply_if_free(realm: RealmPaths) -> None:
    if lock_is_held(realm.store_file):
        return
    # StoreBusy: another writer came first; it answers.
    with contextlib.suppress(StoreError), Store.open(realm.store_file) as store:
        apply_pending(realm, store)
