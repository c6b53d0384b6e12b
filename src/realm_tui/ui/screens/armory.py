"""The Armory: hero, memory profile, optimizer, batch / grad accumulation / max length, learning
rate, with a live VRAM estimate. Changes validate before they apply, and apply at the next battle
(they are written into the hero's YAML: see `ui.services.armory`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, Protocol

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label, Select, Static

from realm_tui.armory.knobs import Environment
from realm_tui.config.common import OPTIMIZERS
from realm_tui.config.hero import HeroConfig
from realm_tui.errors import RealmError
from realm_tui.services.armory import (
    ArmoryForm,
    apply_form,
    form_for,
    needs_machine_probe,
    refusals_here,
    validate_form,
)
from realm_tui.services.paths import path_caption, path_rows
from realm_tui.services.schools import school_rows
from realm_tui.ui.keys import ARMORY_BINDINGS
from realm_tui.ui.literal import escape
from realm_tui.ui.lore_text import LoreStatic, attach_lore
from realm_tui.ui.screens.base import RealmScreen

DEFAULT_PATH = "default"
"""The path select's value for the default path (a path id always holds an @)."""
NUMBER_FIELDS = (
    ("batch_size", "batch size", "integer"),
    ("gradient_accumulation", "grad accumulation", "integer"),
    ("max_length", "max length (tokens)", "integer"),
    ("learning_rate", "learning rate", "number"),
)


class _Desk(Protocol):
    """What the Armory needs of `services.paths.PathDesk` and `services.schools.SchoolDesk`."""

    def followed(self, hero_id: str | None = None, /) -> str | None: ...

    def follow(self, configs: Any, hero_id: str, choice: Any, /) -> Any: ...


class MachineProbed(Message):
    """The environment probe finished (None: it failed)."""

    def __init__(self, environment: Environment | None) -> None:
        super().__init__()
        self.environment = environment


class ArmoryScreen(RealmScreen):
    MODE = "armory"
    BINDINGS = ARMORY_BINDINGS
    _machine: Literal["unknown", "probing", "known"] = "unknown"
    _environment: Environment | None = None
    _hero = ""
    """The hero whose settings the form shows."""

    def compose_body(self) -> ComposeResult:
        configs = self.game.configs
        with Horizontal(id="armory"):
            with Vertical(id="armory-left", classes="panel"):
                with Grid(id="armory-form"):
                    yield Label("hero")
                    yield Select(
                        [(h.name + f" ({h.id})", h.id) for h in configs.heroes.values()],
                        allow_blank=False,
                        compact=True,
                        id="armory-hero",
                    )
                    yield Label("path")  # [paths] a technique in a domain, for the hero's campaign
                    yield Select(self._path_options(), allow_blank=False, compact=True, id="armory-path")
                    yield attach_lore(Label("school"), "school")
                    yield Select(self._school_options(), allow_blank=False, compact=True, id="armory-school")
                    yield attach_lore(Label("memory profile"), "memory_profile")
                    yield Select(
                        [(p, p) for p in sorted(configs.memory_profiles)],
                        allow_blank=False,
                        compact=True,
                        id="armory-profile",
                    )
                    yield attach_lore(Label("optimizer"), "optimizer")
                    yield Select([(o, o) for o in OPTIMIZERS], allow_blank=False, compact=True, id="armory-optimizer")
                    for key, label, kind in NUMBER_FIELDS:
                        yield Label(label)
                        yield Input(id=f"armory-{key}", type=kind, compact=True)  # type: ignore[arg-type]
                yield Static(
                    "[dim]Changes are checked as you type and written into configs/heroes/<hero>.yaml with "
                    "Ctrl+S (a copy of the old file goes to saves/backups/heroes/). A running battle keeps its "
                    "settings; the next battle uses the new ones.[/]",
                    id="armory-note",
                )
            with Vertical(id="armory-side"):
                yield Static("", id="armory-vram", classes="panel")
                yield LoreStatic("", id="armory-profile-info", classes="panel")
                yield Static("", id="armory-path-info", classes="panel")
                yield Static("", id="armory-school-info", classes="panel")
                yield Static("", id="armory-problems", classes="panel")

    def on_mount(self) -> None:
        self.query_one("#armory-left").border_title = "Settings (Ctrl+S applies at the next battle)"
        self.query_one("#armory-vram").border_title = "VRAM estimate"
        self.query_one("#armory-profile-info").border_title = "Memory profile"
        self.query_one("#armory-problems").border_title = "Check"
        self.query_one("#armory-path-info").border_title = "Path (Ctrl+S: the campaign follows it)"
        self.query_one("#armory-school-info").border_title = "School (Ctrl+S: the campaign follows it)"
        self._loading = False
        campaign = self.game.records.current_campaign()
        hero_id = campaign.hero_id if campaign and campaign.hero_id in self.game.configs.heroes else None
        self._load(hero_id or next(iter(self.game.configs.heroes)))

    def _load(self, hero_id: str) -> None:
        """Fill the form from the hero's current config."""
        form = form_for(self.game.configs, hero_id)
        self._hero = form.hero_id
        self._loading = True
        try:
            self.query_one("#armory-hero", Select).value = form.hero_id
            self.query_one("#armory-path", Select).value = self.game.paths.followed(form.hero_id) or DEFAULT_PATH
            self.query_one("#armory-school", Select).value = self.game.schools.followed(form.hero_id)
            self.query_one("#armory-profile", Select).value = form.memory_profile
            self.query_one("#armory-optimizer", Select).value = form.optimizer
            for key, _label, _kind in NUMBER_FIELDS:
                self.query_one(f"#armory-{key}", Input).value = str(getattr(form, key))
        finally:
            self._loading = False
        self.call_after_refresh(self._check)
        self.call_after_refresh(self._show_path)
        self.call_after_refresh(self._show_school)

    def _read(self) -> tuple[ArmoryForm | None, list[str]]:
        problems: list[str] = []
        values: dict[str, object] = {}
        for key, label, kind in NUMBER_FIELDS:
            text = self.query_one(f"#armory-{key}", Input).value.strip()
            try:
                values[key] = int(text) if kind == "integer" else float(text)
            except ValueError:
                problems.append(
                    f"{label}: {text or 'empty'} is not a {'whole number' if kind == 'integer' else 'number'}"
                )
        if problems:
            return None, problems
        selects = {k: self.query_one(f"#armory-{k}", Select).value for k in ("hero", "profile", "optimizer")}
        form = ArmoryForm(
            hero_id=str(selects["hero"]),
            memory_profile=str(selects["profile"]),
            optimizer=str(selects["optimizer"]),
            batch_size=int(values["batch_size"]),  # type: ignore[call-overload]
            gradient_accumulation=int(values["gradient_accumulation"]),  # type: ignore[call-overload]
            max_length=int(values["max_length"]),  # type: ignore[call-overload]
            learning_rate=float(values["learning_rate"]),  # type: ignore[arg-type]
        )
        return form, []

    def _check(self) -> ArmoryForm | None:
        """Validate the form, show problems, the profile and the VRAM estimate; the form if valid."""
        form, problems = self._read()
        configs = self.game.configs
        hero: HeroConfig | None = None
        if form is not None:
            hero, problems = validate_form(configs, form)
            profile = configs.memory_profiles.get(form.memory_profile)
            if profile is not None:
                self.query_one("#armory-profile-info", Static).update(
                    f"[b]{escape(profile.id)}[/] · {profile.method} · {escape(profile.optimizer)}\n"
                    f"limits: batch ≤ {profile.max_batch_size}, accumulation ≤ {profile.max_grad_accum}, "
                    f"length ≤ {profile.max_seq_length}\n[dim]{escape(profile.description.strip())}[/]"
                )
        self._show_vram(form if hero is not None else None)
        box = self.query_one("#armory-problems", Static)
        if problems or form is None or hero is None:
            box.update("\n".join(f"[$error]✖[/] {escape(p)}" for p in problems))
            return None
        changed = form != form_for(configs, form.hero_id)
        running = " The running battle keeps its settings." if self.game.trainer_state.busy else ""
        refused, machine_note = self._refusals_here(hero, form)
        if refused:
            lines = [
                ("[$warning]⚠ valid[/], but this machine cannot fight with it — Ctrl+S still writes it." + running)
                if changed
                else "[$warning]⚠[/] [dim]these are the hero's current settings, and this machine cannot fight "
                "with them[/]"
            ]
            lines += [f"[$warning]will be refused here:[/] {escape(p)}" for p in refused]
        else:
            lines = [
                ("[$success]✓ valid[/] — Ctrl+S writes it; it applies at the next battle." + running)
                if changed
                else "[$success]✓[/] [dim]these are the hero's current settings[/]"
            ]
        if machine_note:
            lines.append(f"[dim]{escape(machine_note)}[/]")
        box.update("\n".join(lines))
        return form

    def _refusals_here(self, hero: HeroConfig, form: ArmoryForm) -> tuple[list[str], str]:
        """What the battle's knob check would refuse on this machine, and a note while that is unknown."""
        configs = self.game.configs
        if not needs_machine_probe(configs, form):
            return refusals_here(configs, hero, form, None), ""
        if self._machine == "unknown":
            self._machine = "probing"
            self._probe()
        if self._machine == "probing":
            return refusals_here(configs, hero, form, None), "checking what this machine can do…"
        if self._environment is None:
            note = "could not probe this machine: the battle checks the settings again when it starts"
            return refusals_here(configs, hero, form, None), note
        return refusals_here(configs, hero, form, self._environment), ""

    @work(
        thread=True,
        exclusive=True,
        group="armory-probe",
        exit_on_error=False,
        name="machine probe",
        description="what this machine can train with",
    )
    def _probe(self) -> None:
        """`probe_environment` runs a short subprocess (torch stays out of the UI process); cached after once."""
        try:
            environment = self.game.options.probe_environment()
        except Exception:  # a probe that breaks is a probe that failed: the battle re-checks anyway
            environment = None
        self.post_message(MachineProbed(environment))

    def on_machine_probed(self, message: MachineProbed) -> None:
        self._machine = "known"
        self._environment = message.environment
        self._check()

    def _show_vram(self, form: ArmoryForm | None) -> None:
        """The calculator's estimate for a valid form (None: the form has problems, no estimate)."""
        box = self.query_one("#armory-vram", Static)
        if form is None:
            box.update("[dim]no estimate: fix the problems listed under Check[/]")
            return
        estimate = self.game.options.estimate_vram(self.game.configs, form)
        parts = "\n".join(f"  {name:<16} {gb:8.3f} GiB" for name, gb in estimate.parts)
        box.update(f"[b]{estimate.total_gb:.3f} GiB[/] [dim]({escape(estimate.source)})[/]\n{parts}")

    @on(Select.Changed)
    def _select_changed(self, event: Select.Changed) -> None:
        if self._loading:
            return
        if event.select.id == "armory-hero":
            # The select's own first Changed (its first option, posted at mount) arrives after
            # on_mount loaded the campaign's hero: only a hero other than the loaded one reloads.
            value = event.select.value
            if isinstance(value, str) and value != self._hero:
                self._load(value)
            return
        if event.select.id == "armory-path":
            self._show_path()
            return
        if event.select.id == "armory-school":
            self._show_school()
            return
        self._check()

    @on(Input.Changed)
    def _input_changed(self) -> None:
        if not self._loading:
            self._check()

    def _path_options(self) -> list[tuple[str, str]]:
        rows = path_rows(self.game.configs)
        return [("default (the hero's settings)", DEFAULT_PATH)] + [(f"{r.icon} {r.id}", r.id) for r in rows]

    def _chosen_path(self) -> tuple[str, str | None]:
        """(hero id, chosen path id; None: the default path)."""
        value = self.query_one("#armory-path", Select).value
        return str(self.query_one("#armory-hero", Select).value), None if value == DEFAULT_PATH else str(value)

    def _show_path(self) -> None:
        """The chosen path's technique, physics and skills, and whether the hero's profile refuses it."""
        hero_id, path_id = self._chosen_path()
        row = next((r for r in path_rows(self.game.configs, hero_id) if r.id == path_id), None)
        lines = [escape(path_caption(self.game.configs, path_id))]
        if row is not None:
            lines.append(f"physics {escape(row.physics)} · skills {' '.join(s.upper() for s in row.skills)}")
            lines.append(f"[dim]suits {escape(row.suits)}[/]")
            if row.refused:
                lines.append(f"[$error]✖ refused for {escape(hero_id)}:[/] {escape(row.refused)}")
        if path_id != self.game.paths.followed(hero_id):
            lines.append("[$warning]not followed yet[/] [dim]— Ctrl+S: the hero's campaign follows it[/]")
        self.query_one("#armory-path-info", Static).update("\n".join(lines))

    def _apply_path(self) -> bool | None:
        """Make the hero's campaign follow the chosen path: True when it changed, None when refused."""
        hero_id, path_id = self._chosen_path()
        said = f"follows path {path_id or DEFAULT_PATH} from its next battle"
        return self._follow(self.game.paths, hero_id, path_id, said, self._show_path)

    def _school_options(self) -> list[tuple[str, str]]:
        return [(f"{r.icon} {r.label} ({r.id})", r.id) for r in school_rows(self.game.configs)]

    def _chosen_school(self) -> tuple[str, str]:
        """(hero id, chosen school id)."""
        value = self.query_one("#armory-school", Select).value
        return str(self.query_one("#armory-hero", Select).value), str(value)

    def _show_school(self) -> None:
        """The chosen school's lore line, and why the campaign cannot follow it when it cannot."""
        hero_id, school = self._chosen_school()
        row = next((r for r in school_rows(self.game.configs) if r.id == school), None)
        if row is None:
            return
        lines = [f"{row.icon} {escape(row.label)} · [dim]{escape(row.tooltip)}[/]"]
        if row.refused:
            lines.append(f"[$error]✖ not for a campaign:[/] {escape(row.refused)}")
        elif school != self.game.schools.followed(hero_id):
            lines.append("[$warning]not followed yet[/] [dim]— Ctrl+S: the hero's campaign trains in it[/]")
        self.query_one("#armory-school-info", Static).update("\n".join(lines))

    def _apply_school(self) -> bool | None:
        """Make the hero's campaign train in the chosen school: True when it changed, None when refused."""
        hero_id, school = self._chosen_school()
        said = f"trains in the {school} school from its next battle"
        return self._follow(self.game.schools, hero_id, school, said, self._show_school)

    def _follow(
        self, desk: _Desk, hero_id: str, choice: str | None, said: str, show: Callable[[], None]
    ) -> bool | None:
        """The campaign of `hero_id` follows `choice` at `desk` (paths or schools): False when it
        already did, None when refused (said in a toast), True when it changed (said, then shown)."""
        if choice == desk.followed(hero_id):
            return False
        try:
            record = desk.follow(self.game.configs, hero_id, choice)
        except RealmError as err:
            self.notify_refusal(str(err))
            return None
        self.notify(f"{record.id} {said}", title="Armory", markup=False)
        show()
        return True

    def action_apply(self) -> None:
        school_changed = self._apply_school()
        if school_changed is None:
            return
        path_changed = self._apply_path()
        if path_changed is None:
            return
        path_changed = path_changed or school_changed
        form = self._check()
        if form is None:
            self.notify_refusal("fix the problems first")
            return
        if form == form_for(self.game.configs, form.hero_id):
            if not path_changed:
                self.notify("nothing changed", title="Armory", timeout=3, markup=False)
            return
        try:
            backup = apply_form(self.game.realm, self.game.configs, form)
            self.game.reload_configs()
        except (ValueError, OSError, RealmError) as err:
            self.notify_refusal(str(err))
            return
        self.notify(
            f"{form.hero_id}.yaml saved (previous copy in {backup.parent.name}/{backup.name}); "
            "it applies at the next battle",
            title="Armory",
            markup=False,
        )
        self._check()

    def action_revert(self) -> None:
        try:
            self.game.reload_configs()
        except RealmError as err:
            self.notify_refusal(str(err))
            return
        self._load(str(self.query_one("#armory-hero", Select).value))

    def action_leave_input(self) -> None:
        self.query_one("#armory-hero", Select).focus()
